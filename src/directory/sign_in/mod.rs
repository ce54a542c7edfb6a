//! Sign-in provisioning: a host reports a sign-in with the ID token of one
//! of the tenant's `[[oidc]]` issuers. The token is verified
//! ([`verify`]); the user is found by the `(issuer, subject)` binding, else
//! — on the identity's first sign-in — by its verified email (as userName
//! or as one of the user's emails), and the binding is recorded; with
//! `jit` a user nobody matches is created. The token's roles and groups
//! claims are stored on the user and role mapping is applied again, all in
//! the one transaction that records the sign-in. Disabled, banned and
//! deleted users are refused and nothing changes; so does a refused token.

mod hub;
mod verify;

use serde_json::{json, Map, Value};

pub use verify::{ClientSecretText, OidcConfig, SignInClaims, SignInVerifier};

use super::access::UserFacts;
use super::guards::{check_seat, check_unique};
use super::lifecycle::UserOp;
use super::views::{IdTokenSignIn, IdTokenSignInResult};
use super::{Ctx, Directory, DirectoryError, DirectoryResult};
use crate::store::{Tx, UserRecord};
use scim_protocol::datetime;
use scim_protocol::schema::Kind;

/// What a sign-in of a verified identity came to.
pub(crate) enum Provisioned {
    /// Signed in (the user as it is now, and whether this sign-in created it).
    Allowed { user: UserRecord, created: bool },
    /// Refused, with the reason; `user` when an existing user was found.
    Refused {
        user: Option<UserRecord>,
        reason: String,
    },
}

/// The user an identity signs in as, and how it was found.
enum Located {
    /// Through the identity's binding.
    Bound(UserRecord),
    /// On its first sign-in, by its verified email: to be bound.
    ByEmail(UserRecord),
    /// Nobody.
    Nobody,
}

impl Directory {
    /// `POST /admin/v1/sign-in`: verify the ID token, find or create its
    /// user, apply role mapping to its claims, answer the decision.
    pub async fn sign_in_with_id_token(
        &self,
        ctx: &Ctx,
        req: IdTokenSignIn,
    ) -> DirectoryResult<IdTokenSignInResult> {
        // Token times are the issuer's wall clock, not the directory's.
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = self
            .config
            .sign_in
            .verify(&ctx.tenant.name, &req.id_token, req.nonce.as_deref(), now)
            .await
            .map_err(|e| DirectoryError::TokenRefused(format!("the ID token was refused: {e}")))?;
        let mut tx = self.store.write(&ctx.tenant).await?;
        match self.provision(ctx, &mut tx, &claims).await? {
            Provisioned::Refused { user, reason } => {
                Ok(IdTokenSignInResult::refused(user.as_ref(), reason))
            }
            Provisioned::Allowed { user, created } => {
                tx.commit().await?;
                Ok(IdTokenSignInResult::allowed(&user, created))
            }
        }
    }

    /// The sign-in of a verified identity, in `tx`: find (or, with `jit`,
    /// create) its user, refuse one who may not sign in, store the claims
    /// and the binding, apply role mapping, record the sign-in. A refusal
    /// leaves `tx` to be dropped (a user it created goes with it).
    pub(crate) async fn provision(
        &self,
        ctx: &Ctx,
        tx: &mut Tx,
        claims: &SignInClaims,
    ) -> DirectoryResult<Provisioned> {
        let (user, created, bind) = match self.locate(tx, claims).await? {
            Located::Bound(u) => (u, false, false),
            Located::ByEmail(u) => (u, false, true),
            Located::Nobody if !claims.jit => {
                return Ok(Provisioned::Refused {
                    user: None,
                    reason: format!(
                        "no user of tenant \"{}\" matches this identity, and the issuer does not create users (jit = false)",
                        ctx.tenant.name
                    ),
                });
            }
            Located::Nobody => match self.create_from_claims(ctx, tx, claims).await {
                Ok(u) => (u, true, true),
                Err(e) => return refusal_or(e, None),
            },
        };
        if let Some(reason) = refused_status(&user) {
            return Ok(Provisioned::Refused {
                user: Some(user),
                reason,
            });
        }
        match self.record_sign_in(ctx, tx, &user, claims, bind).await {
            Ok(()) => {}
            // A user this sign-in created is gone with the rollback.
            Err(e) => return refusal_or(e, (!created).then_some(user)),
        }
        let user = tx.find_user(&user.id).await?.ok_or_else(|| {
            DirectoryError::Internal(format!("user {} vanished in its own sign-in", user.id))
        })?;
        Ok(Provisioned::Allowed { user, created })
    }

    /// The user this identity signs in as.
    async fn locate(&self, tx: &mut Tx, claims: &SignInClaims) -> DirectoryResult<Located> {
        if let Some(id) = tx.bound_user(&claims.issuer, &claims.subject).await? {
            return match tx.find_user(&id).await? {
                Some(u) if u.id == id => Ok(Located::Bound(u)),
                _ => Err(DirectoryError::Internal(format!(
                    "binding to missing user {id}"
                ))),
            };
        }
        let Some(email) = claims.email.as_deref().filter(|_| claims.email_verified) else {
            return Ok(Located::Nobody);
        };
        let ids = tx.live_users_with_email(email).await?;
        let [id] = ids.as_slice() else {
            if ids.is_empty() {
                return Ok(Located::Nobody);
            }
            return Err(DirectoryError::Conflict(format!(
                "{} users have the email {email}: bind the identity by hand, or make the email unique",
                ids.len()
            )));
        };
        let user = tx
            .find_user(id)
            .await?
            .ok_or_else(|| DirectoryError::Internal(format!("user {id} vanished")))?;
        if let Some(other) = tx.bound_subject(user.pk, &claims.issuer).await? {
            return Err(DirectoryError::Conflict(format!(
                "user {} is already bound to another identity ({other}) of {}",
                user.user_name, claims.issuer
            )));
        }
        Ok(Located::ByEmail(user))
    }

    /// A new user from the token's claims (`jit`): managed by the identity
    /// provider, its access computed with the claims.
    async fn create_from_claims(
        &self,
        ctx: &Ctx,
        tx: &mut Tx,
        claims: &SignInClaims,
    ) -> DirectoryResult<UserRecord> {
        // The same rule as SCIM data: lengths, control characters.
        let data = scim_protocol::resource::normalize(
            self.registry.resource_type(Kind::User),
            &Value::Object(user_data(claims)?),
        )?;
        check_unique(tx, Kind::User, &data, None).await?;
        let stored = stored_claims(claims);
        let access = self
            .compute(
                tx,
                &UserFacts {
                    data: &data,
                    local: &Value::Object(Map::new()),
                    groups: &[],
                    claims: Some(&stored),
                },
            )
            .await?;
        check_seat(tx, &access.user_type).await?;
        self.check_unique_emails(tx, None, &data, None).await?;
        let id = self.ids.new_id();
        let name = data
            .get("userName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut change = self.admin_change(
            ctx,
            "created",
            format!(
                "User \"{name}\" created on first sign-in through {}",
                claims.issuer
            ),
            "user.created",
        );
        change.audit.object_id = Some(id.clone());
        change.audit.object_name = Some(name.clone());
        change.event.object_id = Some(id.clone());
        change.event.payload =
            json!({"id": id, "name": name, "source": "oidc", "issuer": claims.issuer});
        let (pk, _) = tx
            .insert_user(&id, &data, &access, &datetime::format(change.at))
            .await?;
        tx.set_claims(pk, &stored).await?;
        tx.record(&change).await?;
        tx.find_user(&id)
            .await?
            .ok_or_else(|| DirectoryError::Internal(format!("user {id} vanished")))
    }

    /// Store the claims and the binding, then the sign-in itself: role
    /// mapping runs again with the new claims, the last-super-admin guard
    /// and the seats hold, the audit row and events are written.
    async fn record_sign_in(
        &self,
        ctx: &Ctx,
        tx: &mut Tx,
        user: &UserRecord,
        claims: &SignInClaims,
        bind: bool,
    ) -> DirectoryResult<()> {
        let at = datetime::format(self.clock.now());
        tx.set_claims(user.pk, &stored_claims(claims)).await?;
        let how = if bind {
            tx.bind_identity(&claims.issuer, &claims.subject, user.pk, &at)
                .await?;
            "first sign-in of this identity: bound to the user"
        } else {
            tx.touch_identity(&claims.issuer, &claims.subject, &at)
                .await?;
            "sign-in"
        };
        let change = self.admin_change(
            ctx,
            "signed_in",
            format!(
                "{how} (ID token of {} for subject {})",
                claims.issuer, claims.subject
            ),
            "user.signed_in",
        );
        self.user_op(
            tx,
            &user.id,
            UserOp::SignIn,
            |_| Ok(()),
            |_, _, _| Ok(()),
            change,
        )
        .await?;
        Ok(())
    }
}

/// Why a user may not sign in now, if they may not.
fn refused_status(u: &UserRecord) -> Option<String> {
    match u.status.as_str() {
        "deleted" => Some("the user is deleted".into()),
        "disabled" => Some("the user is disabled by the identity provider or an admin".into()),
        "banned" => Some(format!(
            "the user is banned: {}",
            u.ban_reason.clone().unwrap_or_default()
        )),
        _ => None,
    }
}

/// A sign-in the tenant's limits refuse is a refused sign-in (nothing
/// changes); any other error stays an error.
fn refusal_or(e: DirectoryError, user: Option<UserRecord>) -> DirectoryResult<Provisioned> {
    match e {
        DirectoryError::SeatLimit(reason)
        | DirectoryError::Uniqueness(reason)
        | DirectoryError::Invalid(reason) => Ok(Provisioned::Refused { user, reason }),
        other => Err(other),
    }
}

/// The claims role mapping reads, as stored on the user.
fn stored_claims(c: &SignInClaims) -> Value {
    let mut v = json!({"issuer": c.issuer, "roles": c.roles});
    if let Some(g) = &c.groups {
        v["groups"] = json!(g);
    }
    v
}

/// The SCIM data of a user created from an ID token: userName from the
/// verified email, else `preferred_username`; name and email as sent.
fn user_data(c: &SignInClaims) -> DirectoryResult<Map<String, Value>> {
    let verified = c.email.as_deref().filter(|_| c.email_verified);
    let user_name = verified
        .or(c.preferred_username.as_deref())
        .ok_or_else(|| {
            DirectoryError::Invalid(
            "the ID token has neither a verified email nor a preferred_username to name a new user"
                .into(),
        )
        })?;
    let mut data = Map::new();
    data.insert("schemas".into(), json!([scim_protocol::schema::URN_USER]));
    data.insert("userName".into(), json!(user_name));
    data.insert("active".into(), json!(true));
    if let Some(n) = &c.name {
        data.insert("displayName".into(), json!(n));
    }
    let mut name = Map::new();
    if let Some(g) = &c.given_name {
        name.insert("givenName".into(), json!(g));
    }
    if let Some(f) = &c.family_name {
        name.insert("familyName".into(), json!(f));
    }
    if !name.is_empty() {
        data.insert("name".into(), Value::Object(name));
    }
    if let Some(e) = &c.email {
        data.insert(
            "emails".into(),
            json!([{"value": e, "type": "work", "primary": true}]),
        );
    }
    Ok(data)
}
