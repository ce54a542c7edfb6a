//! Invite user (the form, and the link shown once on the page that answers
//! the form's POST: never in a redirect, never again), Disable / Enable
//! registrations, and a user's pending invitation on the detail page
//! (Resend invitation, with the new link shown once; Withdraw invitation).
//! Every change is the admin API's own directory call.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::act::back;
use super::error::ConsoleError;
use super::format::{role_label, when};
use super::pages::{Choice, Control, Layout};
use super::session::{Change, Signed};
use crate::directory::views::{
    Invitation, InvitationActions, InviteActions, InvitedUser, TenantChange,
};
use crate::http::AppState;

/// The form's fields, as typed (kept when the form is shown again).
#[derive(Debug, Default, Clone, Deserialize)]
pub(super) struct InviteForm {
    #[serde(default)]
    user_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(rename = "type", default)]
    user_type: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    plan: String,
}

fn given(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

impl InviteForm {
    fn invitation(&self) -> Invitation {
        Invitation {
            user_name: self.user_name.trim().to_string(),
            display_name: given(&self.display_name),
            email: given(&self.email),
            user_type: given(&self.user_type),
            role: given(&self.role),
            plan: given(&self.plan),
        }
    }
}

/// `GET /console/invite` and the form shown again with the directory's
/// refusal.
#[derive(Template, WebTemplate)]
#[template(path = "console/invite.html")]
pub(super) struct InvitePage {
    layout: Layout,
    return_to: String,
    error: Option<String>,
    form: InviteForm,
    /// Invite user, or why not (registrations off, not an admin).
    invite: Control,
    registrations: bool,
    /// Disable / Enable registrations, or why not.
    toggle: Control,
    /// Type, Role, and Plan when plans are configured.
    selects: Vec<Select>,
}

/// A labelled select of the form.
pub(super) struct Select {
    name: &'static str,
    label: &'static str,
    options: Vec<Choice>,
}

/// The page that shows a link once: after Invite user, after Resend
/// invitation.
#[derive(Template, WebTemplate)]
#[template(path = "console/invite_done.html")]
pub(super) struct InviteDonePage {
    layout: Layout,
    heading: String,
    user_href: String,
    user_name: String,
    link: String,
    expires: String,
    emailed_to: Option<String>,
}

/// The toggle: which way it goes.
#[derive(Debug, Deserialize)]
pub(super) struct RegistrationsForm {
    return_to: Option<String>,
    registrations: String,
}

const INVITE: &str = "/console/invite";

/// Disable registrations / Enable registrations, as the directory allows.
pub(super) fn toggle(a: &InviteActions) -> Control {
    let (label, to) = match a.registrations {
        true => ("Disable registrations", "off"),
        false => ("Enable registrations", "on"),
    };
    Control::button(label, "/console/registrations".into())
        .hidden("registrations", to)
        .unless(&a.toggle_registrations)
}

fn invite_page(
    layout: Layout,
    a: &InviteActions,
    form: InviteForm,
    error: Option<String>,
) -> InvitePage {
    let types = [
        ("", "As the tenant's policy decides"),
        ("user", "User"),
        ("viewer", "Viewer"),
    ];
    let mut roles = vec![Choice::new(
        "",
        "As the tenant's policy decides",
        &form.role,
    )];
    roles.extend(
        a.roles
            .iter()
            .map(|r| Choice::new(r.name.as_str(), role_label(&r.name), &form.role)),
    );
    let mut plans = vec![Choice::new(
        "",
        "Default (group plans, else the tenant's)",
        &form.plan,
    )];
    plans.extend(
        a.plans
            .iter()
            .map(|p| Choice::new(p.as_str(), p.as_str(), &form.plan)),
    );
    let types = types
        .iter()
        .map(|(v, l)| Choice::new(*v, *l, &form.user_type))
        .collect();
    let select = |name, label, options| Select {
        name,
        label,
        options,
    };
    let mut selects = vec![select("type", "Type", types), select("role", "Role", roles)];
    if !a.plans.is_empty() {
        selects.push(select("plan", "Plan", plans));
    }
    InvitePage {
        return_to: INVITE.into(),
        error,
        invite: Control::button("Invite user", INVITE.into()).unless(&a.invite),
        registrations: a.registrations,
        toggle: toggle(a),
        selects,
        form,
        layout,
    }
}

/// `GET /console/invite`.
pub(super) async fn page(
    State(s): State<AppState>,
    signed: Signed,
) -> Result<InvitePage, ConsoleError> {
    let a = s.directory.invite_actions(&signed.ctx()).await?;
    Ok(invite_page(
        Layout::of(&signed, "users"),
        &a,
        InviteForm::default(),
        None,
    ))
}

/// `POST /console/invite`: the link on this answer, once; a refusal shows
/// the form again, as typed, with the directory's words.
pub(super) async fn invite(
    State(s): State<AppState>,
    c: Change<InviteForm>,
) -> Result<Response, ConsoleError> {
    let ctx = c.signed.ctx();
    match s.directory.invite(&ctx, c.form.invitation()).await {
        Ok(invited) => Ok(done(&c.signed, "User invited", invited).into_response()),
        Err(e) => {
            let e = ConsoleError::from(e);
            let a = s.directory.invite_actions(&ctx).await?;
            let page = invite_page(
                Layout::of(&c.signed, "users"),
                &a,
                c.form,
                Some(format!("Nothing was changed: {}", e.detail())),
            );
            Ok((e.status(), page).into_response())
        }
    }
}

fn done(signed: &Signed, heading: &str, invited: InvitedUser) -> InviteDonePage {
    let u = &invited.user;
    InviteDonePage {
        layout: Layout::of(signed, "users"),
        heading: heading.into(),
        user_href: format!("/console/users/{}", u.id),
        user_name: u.user_name.clone(),
        expires: when(Some(&invited.invite_expires_at)),
        emailed_to: invited.emailed_to,
        link: invited.invite_link,
    }
}

/// `POST /console/registrations`: Disable / Enable registrations.
pub(super) async fn registrations(
    State(s): State<AppState>,
    c: Change<RegistrationsForm>,
) -> Result<Response, ConsoleError> {
    let on = match c.form.registrations.as_str() {
        "on" => true,
        "off" => false,
        _ => return Err(ConsoleError::bad("registrations must be on or off")),
    };
    let change = TenantChange {
        registrations: Some(on),
        ..Default::default()
    };
    s.directory.set_tenant(&c.signed.ctx(), change).await?;
    Ok(back(c.form.return_to.as_deref(), "/console/users".into()))
}

/// A form that only says where to go back to.
#[derive(Debug, Deserialize)]
pub(super) struct Back {
    return_to: Option<String>,
}

/// `POST /console/users/{id}/invitation`: Resend invitation; the new link
/// on this answer, once.
pub(super) async fn resend(
    State(s): State<AppState>,
    Path(id): Path<String>,
    c: Change<Back>,
) -> Result<InviteDonePage, ConsoleError> {
    let invited = s.directory.reinvite(&c.signed.ctx(), &id).await?;
    Ok(done(&c.signed, "Invitation resent", invited))
}

/// `POST /console/users/{id}/invitation/withdraw`.
pub(super) async fn withdraw(
    State(s): State<AppState>,
    Path(id): Path<String>,
    c: Change<Back>,
) -> Result<Response, ConsoleError> {
    s.directory
        .withdraw_invitation(&c.signed.ctx(), &id)
        .await?;
    Ok(back(
        c.form.return_to.as_deref(),
        format!("/console/users/{id}"),
    ))
}

/// The detail page's invitation part (`templates/console/invitation.html`).
pub(crate) struct InvitationPanel {
    pub state: String,
    pub expires: String,
    pub email: Option<String>,
    pub controls: Vec<Control>,
}

/// The panel for a user with an invitation (none: never invited).
pub(super) fn panel(id: &str, a: &InvitationActions) -> Option<InvitationPanel> {
    let inv = a.invitation.as_ref()?;
    let at = |what: &str| format!("/console/users/{id}/{what}");
    let email = inv.email.as_ref().map(|m| match m.status.as_str() {
        "sent" => format!("Emailed to {}", m.to),
        "pending" => format!("Being emailed to {}", m.to),
        _ => format!(
            "The email to {} failed: {}",
            m.to,
            m.last_error.as_deref().unwrap_or("unknown reason")
        ),
    });
    Some(InvitationPanel {
        state: super::format::status_label(&inv.state),
        expires: when(Some(&inv.expires_at)),
        email,
        controls: vec![
            Control::button("Resend invitation", at("invitation")).unless(&a.resend),
            Control::button("Withdraw invitation", at("invitation/withdraw"))
                .danger()
                .unless(&a.withdraw),
        ],
    })
}

/// The Users page header's Invite user and registrations toggle
/// (`templates/console/invite_header.html`); none for members.
pub(crate) struct InviteHeader {
    pub open: bool,
    pub why: String,
    pub toggle: Control,
}

/// The header for an admin (none for anyone else: members see no admin
/// actions).
pub(super) async fn header(
    s: &AppState,
    signed: &Signed,
) -> Result<Option<InviteHeader>, ConsoleError> {
    let a = s.directory.invite_actions(&signed.ctx()).await?;
    Ok(a.toggle_registrations.allowed.then(|| InviteHeader {
        open: a.invite.allowed,
        why: a.invite.reason.clone().unwrap_or_default(),
        toggle: toggle(&a),
    }))
}
