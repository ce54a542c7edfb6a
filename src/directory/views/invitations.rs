//! Invitation links and their emails, as the admin API shows them. The
//! secret is never part of these: it appears once, in the `inviteLink` of
//! the answer that made the link ([`super::InvitedUser`]).

use serde::Serialize;

use crate::store::{InvitationRecord, MailRecord};

/// One invitation link of a user, without its secret.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationView {
    /// The invitation's id (not its secret).
    #[schema(example = "6f1d0f9e-3c2a-4d8e-9b7a-1f2e3d4c5b6a")]
    pub id: String,
    /// The invited user's id.
    #[schema(example = "2819c223-7f76-453a-919d-413861904646")]
    pub user_id: String,
    /// `open`, `expired`, `accepted`, `withdrawn` or `replaced` (by a newer
    /// link).
    #[schema(example = "open")]
    pub state: String,
    /// When the link was made.
    #[schema(example = "2026-03-01T09:00:00.000Z")]
    pub created: String,
    /// When the link stops working, unless used or ended before.
    #[schema(example = "2026-03-08T09:00:00.000Z")]
    pub expires_at: String,
    /// When it was accepted, withdrawn or replaced.
    #[schema(example = "2026-03-02T10:30:00.000Z")]
    pub ended_at: Option<String>,
    /// The invitation email, when one was sent or is being sent.
    pub email: Option<MailView>,
}

/// How the invitation email went.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MailView {
    /// The address it went to.
    #[schema(example = "new@acme.test")]
    pub to: String,
    /// `pending` (being sent or retried), `sent`, `failed` (given up,
    /// cancelled by a resend or withdrawal, or abandoned by a stopped
    /// server: see `lastError`).
    #[schema(example = "sent")]
    pub status: String,
    /// Delivery attempts so far.
    #[schema(example = 1)]
    pub attempts: i64,
    /// Why the last attempt failed, or why the mail was given up.
    #[schema(example = "SMTP: connection refused")]
    pub last_error: Option<String>,
    /// When the SMTP server took it.
    #[schema(example = "2026-03-01T09:00:01.000Z")]
    pub sent_at: Option<String>,
}

impl InvitationView {
    /// The view of `inv` at `now` (a formatted time).
    pub fn new(inv: &InvitationRecord, mail: Option<&MailRecord>, now: &str) -> Self {
        InvitationView {
            id: inv.id.clone(),
            user_id: inv.user_id.clone(),
            state: invitation_state(inv, now).to_string(),
            created: inv.created.clone(),
            expires_at: inv.expires_at.clone(),
            ended_at: inv.ended_at.clone(),
            email: mail.map(MailView::from),
        }
    }
}

/// `open`, `expired` or how it ended.
pub fn invitation_state<'a>(inv: &'a InvitationRecord, now: &str) -> &'a str {
    match inv.ended.as_deref() {
        Some(how) => how,
        None if inv.expires_at.as_str() <= now => "expired",
        None => "open",
    }
}

impl From<&MailRecord> for MailView {
    fn from(m: &MailRecord) -> Self {
        let status = match (&m.sent_at, &m.failed_at) {
            (Some(_), _) => "sent",
            (None, Some(_)) => "failed",
            (None, None) => "pending",
        };
        MailView {
            to: m.recipient.clone(),
            status: status.into(),
            attempts: m.attempts,
            last_error: m.last_error.clone(),
            sent_at: m.sent_at.clone(),
        }
    }
}

/// A user's latest invitation and what the acting admin may do with it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct InvitationActions {
    /// The latest invitation (never its link); none: never invited.
    pub invitation: Option<InvitationView>,
    /// Resend invitation: a fresh link, the old one stops working.
    pub resend: super::Permit,
    /// Withdraw invitation: the open link stops working.
    pub withdraw: super::Permit,
}

impl InvitationActions {
    /// No invitation to act on, and why.
    pub fn none(why: &str) -> Self {
        InvitationActions {
            invitation: None,
            resend: super::Permit::no(why),
            withdraw: super::Permit::no(why),
        }
    }
}
