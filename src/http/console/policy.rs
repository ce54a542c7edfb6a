//! Policy: the tenant's roles with their permissions, its plans and its
//! mapping rules, and an editor for the whole document (the TOML file of
//! `rollcall policy`) with a "who changes" preview before anything is
//! applied. Every step is the admin API's own directory call
//! (`directory/policy.rs`): the same checks, the same preview, the same
//! apply.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::act::back;
use super::error::ConsoleError;
use super::format::when;
use super::pages::Layout;
use super::session::{Change, Signed};
use crate::directory::access::{MappingRule, PolicyDocument};
use crate::directory::views::{AccessSummary, PolicyPreview};
use crate::directory::{Ctx, DirectoryError, MAX_POLICY_PREVIEW_PAGE};
use crate::http::AppState;

const POLICY: &str = "/console/policy";

/// One role of the catalog.
pub(super) struct RoleLine {
    name: String,
    display: String,
    rank: i64,
    permissions: String,
}

/// One mapping rule, in order.
pub(super) struct RuleLine {
    number: usize,
    name: String,
    when: String,
    set: String,
}

/// One user a draft changes.
pub(super) struct ChangeLine {
    user: String,
    href: String,
    before: String,
    after: String,
}

/// `GET /console/policy`, and the page a preview or a refused draft answers.
#[derive(Template, WebTemplate)]
#[template(path = "console/policy.html")]
pub(super) struct PolicyPage {
    layout: Layout,
    version: i64,
    source: String,
    roles: Vec<RoleLine>,
    plans: String,
    rules: Vec<RuleLine>,
    /// The editor's text: the stored document, or the draft being worked on.
    draft: String,
    /// Why the draft was refused.
    problem: Option<String>,
    /// The draft's preview: how many change, and the first of them.
    changes: Option<i64>,
    changed: Vec<ChangeLine>,
    /// The latest apply's progress.
    apply: Option<String>,
}

/// The editor's form.
#[derive(Deserialize)]
pub(super) struct DraftForm {
    version: i64,
    draft: String,
}

fn summary(a: &AccessSummary) -> String {
    let mut s = format!(
        "{} · {} · plan {}",
        a.user_type,
        a.role,
        a.plan.as_deref().unwrap_or("none")
    );
    for (p, r) in &a.projects {
        s.push_str(&format!(" · {p}: {r}"));
    }
    s
}

fn rule_line(i: usize, r: &MappingRule) -> RuleLine {
    let value = |v: &serde_json::Value| match v {
        serde_json::Value::Object(m) => m
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k} = {s}"),
                other => format!("{k} = {other}"),
            })
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    };
    RuleLine {
        number: i + 1,
        name: crate::directory::access::rule_name(r, i),
        when: value(&serde_json::to_value(&r.when).unwrap_or_default()),
        set: value(&serde_json::to_value(&r.set).unwrap_or_default()),
    }
}

async fn page_of(s: &AppState, signed: &Signed, ctx: &Ctx) -> Result<PolicyPage, ConsoleError> {
    let doc = s.directory.policy_document(ctx).await?;
    let apply = match s.directory.policy_apply(ctx).await {
        Ok(a) => Some(format!(
            "Version {}: {} — {} of {} users recomputed, {} changed (started {})",
            a.version,
            a.state,
            a.users_done,
            a.users_total,
            a.changed,
            when(Some(&a.started))
        )),
        Err(DirectoryError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    Ok(PolicyPage {
        layout: Layout::of(signed, "policy"),
        version: doc.version,
        source: match doc.version {
            0 => "the configuration file (nothing stored yet)".into(),
            v => format!("version {v}, stored"),
        },
        roles: doc
            .roles
            .iter()
            .map(|r| RoleLine {
                name: r.name.clone(),
                display: r.display_name.clone().unwrap_or_else(|| r.name.clone()),
                rank: r.rank,
                permissions: r
                    .permissions
                    .iter()
                    .flatten()
                    .map(|p| p.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
            .collect(),
        plans: match doc.plans.is_empty() {
            true => "Free text (no plan catalog)".into(),
            false => doc.plans.join(", "),
        },
        rules: doc
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| rule_line(i, r))
            .collect(),
        draft: doc.to_toml().map_err(ConsoleError::bad)?,
        problem: None,
        changes: None,
        changed: Vec::new(),
        apply,
    })
}

/// `GET /console/policy`.
pub(super) async fn page(
    State(s): State<AppState>,
    signed: Signed,
) -> Result<PolicyPage, ConsoleError> {
    let ctx = signed.ctx();
    page_of(&s, &signed, &ctx).await
}

/// The page again with the draft kept and why it was refused (400).
fn refused(mut page: PolicyPage, draft: String, why: String) -> Response {
    page.draft = draft;
    page.problem = Some(why);
    (StatusCode::BAD_REQUEST, page).into_response()
}

fn draft_of(form: &DraftForm) -> Result<PolicyDocument, String> {
    PolicyDocument::from_toml(&form.draft, form.version)
}

/// `POST /console/policy/preview`: the draft's effect, writing nothing.
pub(super) async fn preview(
    State(s): State<AppState>,
    Change { signed, form }: Change<DraftForm>,
) -> Result<Response, ConsoleError> {
    let ctx = signed.ctx();
    let mut page = page_of(&s, &signed, &ctx).await?;
    let doc = match draft_of(&form) {
        Ok(d) => d,
        Err(why) => return Ok(refused(page, form.draft, why)),
    };
    let view: PolicyPreview = match s
        .directory
        .preview_policy(&ctx, &doc, 1, MAX_POLICY_PREVIEW_PAGE)
        .await
    {
        Ok(v) => v,
        Err(DirectoryError::Invalid(why)) => return Ok(refused(page, form.draft, why)),
        Err(e) => return Err(e.into()),
    };
    page.draft = form.draft;
    page.version = form.version;
    page.changes = Some(view.changes);
    page.changed = view
        .users
        .iter()
        .map(|c| ChangeLine {
            user: c.user_name.clone(),
            href: format!("/console/users/{}", c.id),
            before: summary(&c.before),
            after: summary(&c.after),
        })
        .collect();
    Ok(page.into_response())
}

/// `POST /console/policy`: store the draft as the next version and apply it.
pub(super) async fn apply(
    State(s): State<AppState>,
    Change { signed, form }: Change<DraftForm>,
) -> Result<Response, ConsoleError> {
    let ctx = signed.ctx();
    let doc = match draft_of(&form) {
        Ok(d) => d,
        Err(why) => {
            let page = page_of(&s, &signed, &ctx).await?;
            return Ok(refused(page, form.draft, why));
        }
    };
    match s.directory.replace_policy(&ctx, doc).await {
        Ok(_) => Ok(back(None, POLICY.into())),
        Err(DirectoryError::Invalid(why)) => {
            let page = page_of(&s, &signed, &ctx).await?;
            Ok(refused(page, form.draft, why))
        }
        Err(e) => Err(e.into()),
    }
}
