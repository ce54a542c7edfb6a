//! Invitations: invite a user, resend with a fresh link, withdraw, look a
//! link up, accept it. A link is `inv_` and 48 hex digits of randomness;
//! only its SHA-256 is stored. It expires after `invitation_ttl_hours`, ends
//! when accepted (it works once), withdrawn or replaced by a resend, and is
//! shown once: in the answer of the admin who made it. Events and audit rows
//! say an invitation was made and until when, never the link.
//!
//! A link that never existed is `404`; one that existed but is over
//! (accepted, expired, withdrawn, replaced, or its user deleted) is `410`,
//! with the reason. Only the holder of the secret can tell the two apart.

use lettre::message::Mailbox;
use serde_json::{json, Value};

use super::super::access::Permission;
use super::super::views::{
    email, invitation_state, InvitationActions, InvitationView, InvitedUser, Permit, SignInResult,
    UserView,
};
use super::super::{tokens, Ctx, Directory, DirectoryError, DirectoryResult};
use super::user_op::commit_user;
use super::Invitation;
use crate::store::{Change, InvitationRecord, NewInvitation, Tenant, Tx, UserRecord};
use scim_protocol::datetime;

/// A link just made: its secret lives in `link` only, and only until the
/// answer (and the email) are sent.
struct Issued {
    id: String,
    link: String,
    hash: String,
    created: String,
    expires_at: String,
    /// Where to email it (with `[email]` configured and an address).
    to: Option<Mailbox>,
}

impl Directory {
    /// A new link for a user with this email or userName.
    fn issue(&self, email: Option<&str>, user_name: &str) -> Issued {
        let secret = tokens::invitation_secret();
        let now = self.clock.now();
        let expires = now
            .checked_add(time::Duration::hours(self.config.invitation_ttl_hours))
            .unwrap_or(now);
        Issued {
            id: self.ids.new_id(),
            link: self.invite_link(&secret),
            hash: hex::encode(tokens::hash(&secret)),
            created: datetime::format(now),
            expires_at: datetime::format(expires),
            to: self
                .mailer
                .as_ref()
                .and_then(|_| super::super::mail::Mailer::recipient(email, user_name)),
        }
    }

    /// Write the link, and the email's delivery row when one goes out.
    async fn record_issue(
        &self,
        tx: &mut Tx,
        user_id: &str,
        issued: &Issued,
    ) -> DirectoryResult<Option<i64>> {
        tx.insert_invitation(&NewInvitation {
            id: &issued.id,
            user_id,
            secret_hash: &issued.hash,
            created: &issued.created,
            expires_at: &issued.expires_at,
        })
        .await?;
        let (Some(mailer), Some(to)) = (&self.mailer, &issued.to) else {
            return Ok(None);
        };
        let now = self.clock.now();
        let give_up = now.checked_add(mailer.give_up_after()).unwrap_or(now);
        let id = tx
            .queue_invitation_mail(
                user_id,
                &issued.id,
                to.email.as_ref(),
                &issued.created,
                &datetime::format(give_up),
            )
            .await?;
        Ok(Some(id))
    }

    /// After the commit: hand the link to the mailer (in memory only).
    fn send_invitation(
        &self,
        tenant: &Tenant,
        user: &UserRecord,
        issued: &Issued,
        mail: Option<i64>,
    ) {
        if let (Some(mailer), Some(id), Some(to)) = (&self.mailer, mail, &issued.to) {
            let job = mailer.render(
                id,
                tenant,
                (&user.id, &user.user_name),
                to.clone(),
                &issued.link,
                &issued.expires_at,
            );
            mailer.dispatch(job);
        }
    }

    /// The audit row and event of a link made for `user`: when it
    /// expires and whether it is emailed, never the link.
    fn issue_change(
        &self,
        ctx: &Ctx,
        (action, event, description): (&str, &str, String),
        (user_id, user_name): (&str, &str),
        issued: &Issued,
    ) -> Change {
        let mut change = self.admin_change(ctx, action, description, event);
        change.audit.object_id = Some(user_id.to_string());
        change.audit.object_name = Some(user_name.to_string());
        change.event.object_id = Some(user_id.to_string());
        change.event.payload = json!({
            "id": user_id,
            "userName": user_name,
            "invitation": {
                "id": issued.id,
                "expiresAt": issued.expires_at,
                "emailed": issued.to.is_some(),
            },
        });
        change
    }

    fn invited_answer(&self, rec: &UserRecord, issued: Issued) -> InvitedUser {
        InvitedUser {
            user: self.render_user(rec),
            invite_link: issued.link,
            invite_expires_at: issued.expires_at,
            emailed_to: issued.to.map(|m| m.email.to_string()),
        }
    }

    /// Invite a user (status `invited` until the first sign-in). Not managed
    /// by an IdP: its type, role and plan are local settings.
    pub async fn invite(&self, ctx: &Ctx, inv: Invitation) -> DirectoryResult<InvitedUser> {
        let admin = self.require(ctx, Permission::UsersInvite).await?;
        self.require_registrations(ctx).await?;
        let name = inv.user_name.trim().to_string();
        if name.is_empty() {
            return Err(DirectoryError::Invalid("userName must not be empty".into()));
        }
        let address = inv.email.clone();
        let catalog = admin.catalog.clone();
        let (data, local) = self.invitation_data(&catalog, &admin.plans, &name, inv)?;
        let id = self.ids.new_id();
        let issued = self.issue(address.as_deref(), &name);
        let description = format!(
            "user \"{name}\" invited; the link expires at {}",
            issued.expires_at
        );
        let change = self.issue_change(
            ctx,
            ("invited", "user.invited", description),
            (&id, &name),
            &issued,
        );
        let mut tx = self.store.write(&ctx.tenant).await?;
        let after = |a: &crate::store::Access| {
            let rank = catalog.rank(&a.role).unwrap_or(0);
            if rank > admin.rank {
                return Err(DirectoryError::Forbidden(format!(
                    "you cannot invite a user as \"{}\": it is above your own role",
                    a.role
                )));
            }
            Ok(())
        };
        self.insert_invited(&mut tx, &id, &data, &Value::Object(local), after, &change)
            .await?;
        let mail = self.record_issue(&mut tx, &id, &issued).await?;
        let rec = commit_user(tx, &id).await?;
        self.send_invitation(&ctx.tenant, &rec, &issued, mail);
        Ok(self.invited_answer(&rec, issued))
    }

    /// `POST /admin/v1/users/{id}/invitation`: a fresh link for a user still
    /// invited; the old link dies in the same commit.
    pub async fn reinvite(&self, ctx: &Ctx, key: &str) -> DirectoryResult<InvitedUser> {
        let admin = self.require(ctx, Permission::UsersInvite).await?;
        self.require_registrations(ctx).await?;
        let mut tx = self.store.write(&ctx.tenant).await?;
        let user = live_user(&mut tx, key).await?;
        self.guard(&ctx.tenant, &admin, &user, "re-invite")?;
        if user.status != "invited" {
            return Err(DirectoryError::Conflict(format!(
                "{} is {}: only a user still invited (never signed in, not disabled or banned) gets a new invitation",
                user.user_name, user.status
            )));
        }
        let issued = self.issue(email(&user), &user.user_name);
        let replaced = tx
            .end_invitation(&user.id, "replaced", &issued.created)
            .await?;
        let description = format!(
            "new invitation link for \"{}\"{}; it expires at {}",
            user.user_name,
            if replaced {
                ", the previous one no longer works"
            } else {
                ""
            },
            issued.expires_at
        );
        let change = self.issue_change(
            ctx,
            ("reinvited", "user.reinvited", description),
            (&user.id, &user.user_name),
            &issued,
        );
        let mail = self.record_issue(&mut tx, &user.id, &issued).await?;
        tx.record(&change).await?;
        let rec = commit_user(tx, &user.id).await?;
        self.send_invitation(&ctx.tenant, &rec, &issued, mail);
        Ok(self.invited_answer(&rec, issued))
    }

    /// `DELETE /admin/v1/users/{id}/invitation`: the open link stops
    /// working (and its email, if not sent yet, is cancelled). The user
    /// stays `invited`, without a link, until resent or deleted.
    pub async fn withdraw_invitation(
        &self,
        ctx: &Ctx,
        key: &str,
    ) -> DirectoryResult<InvitationView> {
        let admin = self.require(ctx, Permission::UsersInvite).await?;
        let mut tx = self.store.write(&ctx.tenant).await?;
        let user = live_user(&mut tx, key).await?;
        self.guard(&ctx.tenant, &admin, &user, "withdraw the invitation of")?;
        let open = tx.open_invitation(&user.id).await?.ok_or_else(|| {
            DirectoryError::NotFound(format!("{} has no open invitation", user.user_name))
        })?;
        let at = datetime::format(self.clock.now());
        tx.end_invitation(&user.id, "withdrawn", &at).await?;
        let mut change = self.admin_change(
            ctx,
            "invitation_withdrawn",
            format!("invitation of \"{}\" withdrawn", user.user_name),
            "user.invitation_withdrawn",
        );
        change.audit.object_id = Some(user.id.clone());
        change.audit.object_name = Some(user.user_name.clone());
        change.event.object_id = Some(user.id.clone());
        change.event.payload = json!({"id": user.id, "invitation": {"id": open.id}});
        tx.record(&change).await?;
        tx.commit().await?;
        self.invitation_status(ctx, &user.id).await
    }

    /// `GET /admin/v1/users/{id}/invitation`: the user's latest link (never
    /// its secret) and how its email went.
    /// Admin and above: the state names the user's email address.
    pub async fn invitation_status(&self, ctx: &Ctx, key: &str) -> DirectoryResult<InvitationView> {
        self.require(ctx, Permission::UsersInvite).await?;
        let u = self.find(ctx, key).await?;
        let inv = self
            .store
            .latest_invitation(&ctx.tenant, &u.id)
            .await?
            .ok_or_else(|| {
                DirectoryError::NotFound(format!("{} was never invited", u.user_name))
            })?;
        let mail = self.store.invitation_mail(&inv.id).await?;
        let now = datetime::format(self.clock.now());
        Ok(InvitationView::new(&inv, mail.as_ref(), &now))
    }

    /// The user's latest invitation (none: never invited, or the acting
    /// user may not see it) and whether the acting admin may resend or
    /// withdraw it now, asked of the guards `reinvite` and
    /// `withdraw_invitation` apply.
    pub async fn invitation_actions(
        &self,
        ctx: &Ctx,
        key: &str,
    ) -> DirectoryResult<InvitationActions> {
        let admin = match self.require(ctx, Permission::UsersInvite).await {
            Ok(a) => a,
            Err(DirectoryError::Forbidden(why)) => return Ok(InvitationActions::none(&why)),
            Err(e) => return Err(e),
        };
        let u = self.find(ctx, key).await?;
        if u.status != "invited" || u.deleted_at.is_some() {
            return Ok(InvitationActions::none(&format!(
                "{} is {}",
                u.user_name, u.status
            )));
        }
        let Some(inv) = self.store.latest_invitation(&ctx.tenant, &u.id).await? else {
            return Ok(InvitationActions::none("never invited"));
        };
        let mail = self.store.invitation_mail(&inv.id).await?;
        let now = datetime::format(self.clock.now());
        let view = InvitationView::new(&inv, mail.as_ref(), &now);
        let rank = self.guard(&ctx.tenant, &admin, &u, "re-invite");
        let resend = match (&rank, &self.require_registrations(ctx).await) {
            (Err(e), _) | (_, Err(e)) => Permit::no(e.to_string()),
            _ => Permit::yes(),
        };
        let withdraw = match (&rank, view.state.as_str()) {
            (Err(e), _) => Permit::no(e.to_string()),
            (_, "open") => Permit::yes(),
            (_, state) => Permit::no(format!("the latest invitation is {state}")),
        };
        Ok(InvitationActions {
            invitation: Some(view),
            resend,
            withdraw,
        })
    }

    /// The link an invitation is accepted through.
    pub fn invite_link(&self, token: &str) -> String {
        match &self.config.invite_url {
            Some(u) => u.replace("{token}", token),
            None => format!("/admin/v1/invitations/{token}"),
        }
    }

    /// `GET /admin/v1/invitations/{token}`: who an open invitation is for.
    pub async fn invitation(&self, ctx: &Ctx, token: &str) -> DirectoryResult<UserView> {
        let hash = hex::encode(tokens::hash(token));
        let inv = self.store.invitation_by_hash(&ctx.tenant, &hash).await?;
        let inv = self.usable(inv)?;
        let u = self.find(ctx, &inv.user_id).await?;
        Ok(self.render_user(&u))
    }

    /// `POST /admin/v1/invitations/{token}/accept`: the invited user's first
    /// sign-in. The link is used up in the same commit, so a second accept
    /// (even a concurrent one) is `410`.
    pub async fn accept_invitation(&self, ctx: &Ctx, token: &str) -> DirectoryResult<SignInResult> {
        let hash = hex::encode(tokens::hash(token));
        let mut tx = self.store.write(&ctx.tenant).await?;
        let inv = tx.invitation_by_hash(&hash).await?;
        let inv = self.usable(inv)?;
        let mut change = self.admin_change(
            ctx,
            "invitation_accepted",
            "invitation accepted: first sign-in".into(),
            "user.signed_in",
        );
        change.event.payload = json!({"id": inv.user_id, "invitation": {"id": inv.id}});
        let result = self.sign_in_op(&mut tx, &inv.user_id, change).await;
        if result.is_ok() {
            let at = datetime::format(self.clock.now());
            tx.end_invitation(&inv.user_id, "accepted", &at).await?;
        }
        self.finish_sign_in(ctx, tx, &inv.user_id, result).await
    }

    /// The invitation, if its link may still be used: `404` when none has
    /// this secret, `410` with the reason when it is over.
    fn usable(&self, inv: Option<InvitationRecord>) -> DirectoryResult<InvitationRecord> {
        let inv = inv.ok_or_else(|| {
            DirectoryError::NotFound(
                "no invitation has this link: check that it was copied whole".into(),
            )
        })?;
        if inv.user_deleted {
            return Err(DirectoryError::Gone(
                "this invitation is over: its user was deleted".into(),
            ));
        }
        let now = datetime::format(self.clock.now());
        let reason = match invitation_state(&inv, &now) {
            "open" => return Ok(inv),
            "expired" => format!(
                "this invitation expired at {}; ask an admin to send a new one",
                inv.expires_at
            ),
            "accepted" => "this invitation was accepted already: a link works once".into(),
            "replaced" => {
                "this invitation was replaced by a newer one: use the link of the latest invitation"
                    .into()
            }
            _ => "this invitation was withdrawn by an admin".into(),
        };
        Err(DirectoryError::Gone(reason))
    }
}

/// A live (not deleted) user by id or userName, inside the write.
async fn live_user(tx: &mut Tx, key: &str) -> DirectoryResult<UserRecord> {
    tx.find_user(key)
        .await?
        .filter(|u| u.deleted_at.is_none())
        .ok_or_else(|| DirectoryError::NotFound(format!("user {key} not found")))
}
