//! The user detail page: General, Access (the `/access` explanation, part
//! by part and rule by rule), Activity (the user's audit entries) and the
//! actions, each offered only as the directory's guards allow.

use axum::extract::{Path, Query, State};
use serde_json::Value;

use super::error::ConsoleError;
use super::format::{role_label, status_label, type_label, when};
use super::pages::{AccessLine, Activity, Card, Choice, Control, Fact, Layout, UserPage};
use super::session::Signed;
use crate::directory::views::{AuditPage, Deletion, Permit, UserActions, UserDetail};
use crate::http::AppState;
use crate::store::AuditQuery;

/// Audit entries one page of Activity shows.
const ACTIVITY_PAGE: i64 = 50;

/// Where Activity reads on from.
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct ActivityQuery {
    after: Option<String>,
}

/// `GET /console/users/{id}`.
pub(super) async fn page(
    State(s): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(q): Query<ActivityQuery>,
) -> Result<UserPage, ConsoleError> {
    let ctx = signed.ctx();
    let d = s.directory.user_detail(&ctx, &id).await?;
    let actions = s.directory.user_actions(&ctx, &d.user.id).await?;
    let layout = Layout::of(&signed, "users");
    // The plan catalog is an admin's read; others are offered no action.
    let plans = match layout.admin() {
        true => s.directory.tenant_view(&ctx).await?.plans,
        false => Vec::new(),
    };
    let activity = match layout.admin() {
        true => {
            s.directory
                .audit_page(&ctx.tenant, &activity_query(&d, &q)?)
                .await?
        }
        false => AuditPage::new(Vec::new(), ACTIVITY_PAGE),
    };
    let invitation = s.directory.invitation_actions(&ctx, &d.user.id).await?;
    let mut html = user_page(layout, &d, &actions, &plans, &activity);
    html.invitation = super::invite::panel(&d.user.id, &invitation);
    if d.user.standing.managed {
        html.notices
            .extend(super::users::read_only_notice(&s, &ctx.tenant));
    }
    Ok(html)
}

fn activity_query(d: &UserDetail, q: &ActivityQuery) -> Result<AuditQuery, ConsoleError> {
    let after = match q.after.as_deref().filter(|a| !a.is_empty()) {
        None => None,
        Some(a) => Some(
            a.parse::<i64>()
                .map_err(|_| ConsoleError::bad("\"after\" must be a cursor from this page"))?,
        ),
    };
    Ok(AuditQuery {
        after,
        limit: ACTIVITY_PAGE,
        object_id: Some(d.user.id.clone()),
        ..Default::default()
    })
}

fn user_page(
    layout: Layout,
    d: &UserDetail,
    a: &UserActions,
    plans: &[String],
    activity: &AuditPage,
) -> UserPage {
    let u = &d.user;
    let title = d
        .display_name
        .clone()
        .unwrap_or_else(|| u.user_name.clone());
    let mut sub = vec![u.user_name.clone()];
    sub.extend(d.email.clone().filter(|e| *e != u.user_name));
    sub.push(format!("id {}", u.id));
    UserPage {
        return_to: format!("/console/users/{}", u.id),
        title,
        sub: sub.join(" · "),
        notices: notices(d, a),
        general: general(d, a),
        access: access_lines(&d.access),
        projects: project_lines(&d.access),
        matched: matched_rules(&d.access),
        activity: activity.items.iter().map(activity_line).collect(),
        activity_next: activity
            .next
            .as_ref()
            .map(|n| format!("/console/users/{}?after={n}#activity", u.id)),
        cards: cards(d, a, plans),
        invitation: None,
        layout,
    }
}

fn notices(d: &UserDetail, a: &UserActions) -> Vec<String> {
    let u = &d.user;
    let mut out = Vec::new();
    if a.owner {
        out.push(
            "Owner of the organization: cannot be disabled, banned or deleted; only the owner hands ownership on."
                .to_string(),
        );
    }
    if let Some(b) = &u.ban {
        out.push(format!(
            "Banned since {}: {}",
            when(Some(&b.at)),
            b.reason.as_deref().unwrap_or("no reason given")
        ));
    }
    if let Some(at) = &u.deleted_at {
        out.push(format!(
            "Deleted {}; restorable until {}.",
            when(Some(at)),
            when(u.purge_after.as_deref())
        ));
    }
    if let Some(del) = &u.deletion {
        out.extend(transfer_state(del));
    }
    out
}

/// Where a deletion's ownership transfer stands, in words.
fn transfer_state(del: &Deletion) -> Option<String> {
    let successor = del.successor.as_ref().map(|s| {
        if s.user_name.is_empty() {
            s.id.clone()
        } else {
            s.user_name.clone()
        }
    });
    match (del.state.as_str(), successor) {
        ("transferring", Some(to)) => Some(format!(
            "Transferring: the host platform is handing what they own to {to}."
        )),
        ("waiting", _) => Some(format!(
            "Waiting for a successor: {}",
            del.reason.as_deref().unwrap_or("")
        )),
        ("deleting_assets", _) => Some(
            "Removing their assets: the host platform is deleting what they owned with the account."
                .into(),
        ),
        ("deleted", _) if del.assets.as_deref() == Some("delete") => {
            Some("What they owned was removed with the account.".into())
        }
        ("deleted", Some(to)) => Some(format!("What they owned went to {to}.")),
        _ => None,
    }
}

fn general(d: &UserDetail, a: &UserActions) -> Vec<Fact> {
    let u = &d.user;
    let st = &u.standing;
    let managed = a.idp_managed;
    let fact = |label, value: String, managed| Fact {
        label,
        value,
        managed,
    };
    let groups: Vec<String> = d
        .groups
        .iter()
        .map(|g| match g.direct {
            true => g.display_name.clone(),
            false => format!("{} (nested)", g.display_name),
        })
        .collect();
    vec![
        fact("Type", type_label(&st.user_type), managed),
        fact("Role", role_label(&st.role), managed),
        fact("Status", status_label(&st.status), managed),
        fact("Last sign-in", when(u.last_sign_in.as_deref()), false),
        fact(
            "Plan",
            st.plan.clone().unwrap_or_else(|| "None".into()),
            managed,
        ),
        fact(
            "Seat",
            match d.seat.counted {
                true => format!("One {} seat", d.seat.kind),
                false => "None (deleted users free their seat)".into(),
            },
            false,
        ),
        fact(
            "Groups",
            match groups.is_empty() {
                true => "None".into(),
                false => groups.join(", "),
            },
            false,
        ),
        fact("Created", when(Some(&u.created)), false),
    ]
}

/// Where a part of access came from, in words.
fn source_words(v: &Value) -> String {
    let s = v.get("source").and_then(Value::as_str).unwrap_or("");
    match s {
        "local" => "An admin's setting".into(),
        "scim" => "The identity provider".into(),
        "rule" => format!(
            "Mapping rule {}",
            v.get("rule").and_then(Value::as_str).unwrap_or("")
        ),
        "bootstrap" => "The tenant's super-admin list".into(),
        "viewer" => "Viewers hold no role".into(),
        "default" => "The tenant's default".into(),
        "role" => "The workspace role".into(),
        "none" | "" => "Nothing".into(),
        other => other.into(),
    }
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}

fn access_lines(access: &Value) -> Vec<AccessLine> {
    [("Type", "type"), ("Role", "role"), ("Plan", "plan")]
        .iter()
        .filter_map(|(what, key)| access.get(*key).map(|v| (what, v)))
        .map(|(what, v)| AccessLine {
            what: what.to_string(),
            value: match v.get("value").and_then(Value::as_str) {
                Some(x) if *what == "Type" => type_label(x),
                Some(x) if *what == "Role" => role_label(x),
                Some(x) => x.to_string(),
                None => "None".into(),
            },
            source: source_words(v),
            why: text(v, "because"),
        })
        .collect()
}

fn project_lines(access: &Value) -> Vec<AccessLine> {
    let Some(projects) = access.get("projects").and_then(Value::as_object) else {
        return Vec::new();
    };
    projects
        .iter()
        .map(|(name, v)| AccessLine {
            what: match name.as_str() {
                "*" => "Every project".into(),
                n => format!("Project {n}"),
            },
            value: role_label(&text(v, "role")),
            source: source_words(v),
            why: text(v, "because"),
        })
        .collect()
}

fn matched_rules(access: &Value) -> Vec<AccessLine> {
    let rules = access.get("matchedRules").and_then(Value::as_array);
    rules
        .into_iter()
        .flatten()
        .map(|r| AccessLine {
            what: text(r, "rule"),
            value: String::new(),
            source: String::new(),
            why: text(r, "because"),
        })
        .collect()
}

fn activity_line(e: &crate::directory::views::AuditRecord) -> Activity {
    Activity {
        at: when(Some(&e.at)),
        action: e.action.clone(),
        description: e.description.clone(),
        actor: e.actor.clone(),
        ip: e.source_ip.clone().unwrap_or_default(),
    }
}

/// Push the control of an action that fits the user's state.
fn push(out: &mut Vec<Control>, p: &Option<Permit>, c: Control) {
    if let Some(p) = p {
        out.push(c.unless(p));
    }
}

fn cards(d: &UserDetail, a: &UserActions, plans: &[String]) -> Vec<Card> {
    let id = &d.user.id;
    let at = |what: &str| format!("/console/users/{id}/{what}");
    let managed_note = match a.idp_managed {
        true => "Type, role, plan and status are managed by your identity provider.".to_string(),
        false => String::new(),
    };
    if d.user.deleted_at.is_some() {
        let mut c = Vec::new();
        let successor = Control::input("text", "Name successor", at("successor"), "successor")
            .id("successor".into())
            .labelled("Successor (userName, email or id)");
        push(&mut c, &a.name_successor, successor);
        push(
            &mut c,
            &a.restore,
            Control::button("Restore user", at("restore")),
        );
        let purge = Control::input("confirm", "Purge user", at("purge"), "confirm")
            .id("purge-confirm".into())
            .labelled(format!("Type {} to confirm", d.user.user_name))
            .danger();
        push(&mut c, &a.purge, purge);
        return vec![card("Deleted user", String::new(), c)];
    }
    let mut ty = Vec::new();
    let upgrade = Control::button("Upgrade to user", at("access")).hidden("type", "user");
    push(&mut ty, &a.upgrade, upgrade);
    let downgrade = Control::button("Downgrade to viewer", at("access")).hidden("type", "viewer");
    push(&mut ty, &a.downgrade, downgrade);
    let mut status = Vec::new();
    push(
        &mut status,
        &a.disable,
        Control::button("Disable user", at("disable")),
    );
    push(
        &mut status,
        &a.enable,
        Control::button("Enable user", at("enable")),
    );
    let ban = Control::input("text", "Ban user", at("ban"), "reason")
        .id("ban-reason".into())
        .labelled("Reason");
    push(&mut status, &a.ban, ban);
    push(
        &mut status,
        &a.unban,
        Control::button("Unban user", at("unban")),
    );
    let mut delete = Vec::new();
    push(
        &mut delete,
        &a.delete,
        Control::link("Delete user", at("delete")).danger(),
    );
    let mut owner = Vec::new();
    push(
        &mut owner,
        &a.make_owner,
        Control::button("Make owner", at("owner")),
    );
    let ownership = (!owner.is_empty()).then(|| {
        card(
            "Ownership",
            "You own the organization: handing it on makes this user its owner instead of you."
                .into(),
            owner,
        )
    });
    let mut cards = vec![
        card("Type", managed_note.clone(), ty),
        card(
            "Role",
            managed_note.clone(),
            vec![role_control(d, a, &at("access"))],
        ),
        card(
            "Plan",
            managed_note,
            vec![plan_control(d, a, plans, &at("access"))],
        ),
        card("Status", String::new(), status),
        card("Delete", String::new(), delete),
    ];
    cards.extend(ownership);
    // The owner's Delete card has nothing to offer: no card.
    cards.retain(|c| !c.controls.is_empty());
    cards
}

fn card(title: &'static str, note: String, controls: Vec<Control>) -> Card {
    Card {
        title,
        note,
        controls,
    }
}

/// Change role: only roles up to the admin's own are offered.
fn role_control(d: &UserDetail, a: &UserActions, action: &str) -> Control {
    let current = &d.user.standing.role;
    let options = a
        .roles
        .iter()
        .map(|r| Choice::new(r.name.as_str(), role_label(&r.name), current))
        .collect();
    Control::input("select", "Change role", action.into(), "role")
        .id("change-role".into())
        .labelled("Role")
        .options(options)
        .unless(&a.change_access)
}

/// Change plan: a configured plan, or back to the default.
fn plan_control(d: &UserDetail, a: &UserActions, plans: &[String], action: &str) -> Control {
    let current = d
        .user
        .local
        .get("plan")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut options = vec![Choice::new(
        "",
        "Default (group plans, else the tenant's)",
        current,
    )];
    options.extend(
        plans
            .iter()
            .map(|p| Choice::new(p.as_str(), p.as_str(), current)),
    );
    if plans.is_empty() {
        return Control::off(
            "Change plan",
            "no plans are configured (plans in the config file)",
        );
    }
    Control::input("select", "Change plan", action.into(), "plan")
        .id("change-plan".into())
        .labelled("Plan")
        .options(options)
        .unless(&a.change_access)
}
