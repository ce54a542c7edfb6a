//! API tokens managed by a tenant's admins (the admin API's `/tokens` and
//! the console's Connections screen), and the tenant's configured identity
//! providers. The rules:
//!
//! - admins and above list, make and revoke the tenant's tokens;
//! - `admin` makes a credential bound to its maker, acting with the
//!   maker's own role (with `audit`, `events`, `sign-in` beside it if
//!   asked): it can never do more than its maker;
//! - `scim` and `scim:read` make a tenant token for an identity provider;
//!   over SCIM no role guard applies, so only a super-admin may make (or
//!   revoke) one;
//! - nobody revokes a credential bound to a user ranked above them.
//!
//! Each change is audited (`token_created`, `token_revoked`, as the
//! command line's); the secret is shown once, in the answer, and is in no
//! audit row, event or log.

use super::access::SUPER_ADMIN;
use super::guards::Admin;
use super::oauth::{Audience, OAuthVerifier};
use super::scopes::{Scope, Scopes};
use super::tokens::generate;
use super::views::{
    CreatedToken, IdentityProvider, Permit, ScopeOffer, TokenItem, TokenRequest, TokensView,
};
use super::{Ctx, Directory, DirectoryError, DirectoryResult};
use crate::store::{TokenRecord, TokenRow};
use scim_protocol::datetime;

/// The longest label a token may have.
const LABEL_MAX: usize = 100;

/// What each scope reaches, in the words lists show.
fn scope_words(s: Scope) -> &'static str {
    match s {
        Scope::Scim => "SCIM provisioning, read and write (/scim/v2): for an identity provider",
        Scope::ScimRead => "SCIM reads only (/scim/v2)",
        Scope::Events => "The event feed (/admin/v1/events)",
        Scope::Audit => "The audit trail (/admin/v1/audit)",
        Scope::SignIn => "The host's sign-in reports and invitation links",
        Scope::Admin => "The admin API, acting as you with your role",
    }
}

fn item(r: TokenRow) -> TokenItem {
    let created_by = r.creator_name.or(r.record.created_by);
    TokenItem {
        id: r.record.id,
        label: r.record.label,
        scopes: Scopes::from_names(&r.record.scopes).names(),
        bound_user_id: r.record.user_id,
        bound_user_name: r.user_name,
        created: r.record.created,
        created_by,
        last_used: r.record.last_used_at,
        revoked: r.record.revoked,
    }
}

fn forbidden(why: impl Into<String>) -> DirectoryError {
    DirectoryError::Forbidden(why.into())
}

impl Directory {
    /// Whether the acting admin may give (or take away) a token's `scope`.
    fn scope_guard(&self, ctx: &Ctx, admin: &Admin, scope: Scope) -> DirectoryResult<()> {
        match scope {
            Scope::Scim | Scope::ScimRead
                if admin.rank < admin.rank_of(SUPER_ADMIN) =>
            {
                Err(forbidden(format!(
                    "only a super-admin may give the scope {scope}: over SCIM no role guard applies"
                )))
            }
            Scope::Admin if ctx.actor_user_id.is_none() => Err(forbidden(
                "the scope admin acts as the user who makes the token: make it signed in as that user",
            )),
            _ => Ok(()),
        }
    }

    /// The tenant's rows, as listed.
    async fn token_items(&self, ctx: &Ctx) -> DirectoryResult<Vec<TokenItem>> {
        let rows = self.store.token_rows(Some(&ctx.tenant.name)).await?;
        Ok(rows.into_iter().map(item).collect())
    }

    /// `GET /admin/v1/tokens`: the tenant's tokens (never their secrets)
    /// and the scopes the acting admin may give a new one.
    pub async fn tenant_tokens(&self, ctx: &Ctx) -> DirectoryResult<TokensView> {
        let admin = self
            .require(ctx, super::access::Permission::TokensManage)
            .await?;
        let scopes = Scope::ALL
            .into_iter()
            .map(|s| ScopeOffer {
                name: s.name().into(),
                description: scope_words(s).into(),
                permit: match self.scope_guard(ctx, &admin, s) {
                    Ok(()) => Permit::yes(),
                    Err(e) => Permit::no(e.to_string()),
                },
            })
            .collect();
        Ok(TokensView {
            items: self.token_items(ctx).await?,
            scopes,
        })
    }

    /// The checked label and scopes of a token to make.
    fn token_request(
        &self,
        ctx: &Ctx,
        admin: &Admin,
        req: &TokenRequest,
    ) -> DirectoryResult<(String, Scopes)> {
        let label = req.label.trim().to_string();
        if label.is_empty()
            || label.chars().count() > LABEL_MAX
            || label.chars().any(char::is_control)
        {
            return Err(DirectoryError::Invalid(format!(
                "a token needs a label of 1 to {LABEL_MAX} characters, without control characters"
            )));
        }
        let scopes = Scopes::parse_list(&req.scopes.join(","))
            .map_err(|e| DirectoryError::Invalid(e.to_string()))?;
        let bound = scopes.grants(Scope::Admin);
        scopes
            .check(bound)
            .map_err(|e| DirectoryError::Invalid(format!("{e}; make a separate token for SCIM")))?;
        for s in scopes.names().iter().filter_map(|n| Scope::parse(n)) {
            self.scope_guard(ctx, admin, s)?;
        }
        Ok((label, scopes))
    }

    /// `POST /admin/v1/tokens`: a new token; its secret is in the answer
    /// only. Audited `token_created`.
    pub async fn create_token(
        &self,
        ctx: &Ctx,
        req: TokenRequest,
    ) -> DirectoryResult<CreatedToken> {
        let admin = self
            .require(ctx, super::access::Permission::TokensManage)
            .await?;
        let (label, scopes) = self.token_request(ctx, &admin, &req)?;
        let now = self.clock.now();
        let (secret, mut record) = generate(&ctx.tenant, &label, &scopes, now);
        let bound = scopes.grants(Scope::Admin);
        if bound {
            record.user_id = ctx.actor_user_id.clone();
        }
        record.created_by_user_id = ctx.actor_user_id.clone();
        record.created_by = ctx.actor_user_id.is_none().then(|| ctx.actor.clone());
        let bound_to = match &record.user_id {
            Some(id) => format!(", bound to user {id}"),
            None => String::new(),
        };
        let description = format!("token \"{label}\" created with scopes {scopes}{bound_to}");
        self.record_token(ctx, &record, "token_created", description, None)
            .await?;
        let token = self.listed(ctx, &record.id).await?;
        Ok(CreatedToken { token, secret })
    }

    /// `DELETE /admin/v1/tokens/{id}`: the token stops working at once.
    /// Audited `token_revoked`.
    pub async fn revoke_tenant_token(&self, ctx: &Ctx, id: &str) -> DirectoryResult<TokenItem> {
        let admin = self
            .require(ctx, super::access::Permission::TokensManage)
            .await?;
        let rec = self
            .store
            .find_token(id)
            .await?
            .filter(|r| r.tenant.id == ctx.tenant.id)
            .ok_or_else(|| DirectoryError::NotFound(format!("no token {id} in this tenant")))?;
        if rec.revoked.is_some() {
            return Err(DirectoryError::Conflict(format!(
                "token \"{}\" is revoked already",
                rec.label
            )));
        }
        for s in rec.scopes.iter().filter_map(|n| Scope::parse(n)) {
            self.scope_guard(ctx, &admin, s)?;
        }
        self.holder_guard(ctx, &admin, &rec).await?;
        let at = datetime::format(self.clock.now());
        let description = format!("token \"{}\" revoked", rec.label);
        self.record_token(ctx, &rec, "token_revoked", description, Some(&at))
            .await?;
        self.listed(ctx, id).await
    }

    /// Nobody revokes the credential of a user ranked above them.
    async fn holder_guard(
        &self,
        ctx: &Ctx,
        admin: &Admin,
        rec: &TokenRecord,
    ) -> DirectoryResult<()> {
        let Some(uid) = &rec.user_id else {
            return Ok(());
        };
        let Some(holder) = self.store.user_record(&ctx.tenant, uid).await? else {
            return Ok(());
        };
        if holder.id != admin.id && admin.rank_of(&holder.role) > admin.rank {
            return Err(forbidden(format!(
                "this token acts as {}, whose role is above your own",
                holder.user_name
            )));
        }
        Ok(())
    }

    /// Insert (`revoke_at` None) or revoke the token, with its audit row,
    /// in one transaction.
    async fn record_token(
        &self,
        ctx: &Ctx,
        rec: &TokenRecord,
        action: &str,
        description: String,
        revoke_at: Option<&str>,
    ) -> DirectoryResult<()> {
        let audit = ctx.audit(
            "Token",
            Some(rec.id.clone()),
            Some(rec.label.clone()),
            action,
            description,
        );
        let mut tx = self.store.write(&ctx.tenant).await?;
        match revoke_at {
            None => tx.insert_token(rec).await?,
            Some(at) => {
                if !tx.revoke_token(&rec.id, at).await? {
                    tx.rollback().await?;
                    return Err(DirectoryError::Conflict(format!(
                        "token \"{}\" is revoked already",
                        rec.label
                    )));
                }
            }
        }
        tx.record_audit(self.clock.now(), &audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn listed(&self, ctx: &Ctx, id: &str) -> DirectoryResult<TokenItem> {
        self.token_items(ctx)
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(|| DirectoryError::NotFound(format!("no token {id} in this tenant")))
    }

    /// The tenant's configured `[[oauth]]` and `[[oidc]]` issuers, without
    /// secrets. Admins and above.
    pub async fn identity_providers(
        &self,
        ctx: &Ctx,
        oauth: &OAuthVerifier,
    ) -> DirectoryResult<Vec<IdentityProvider>> {
        self.require(ctx, super::access::Permission::TokensManage)
            .await?;
        let tenant = &ctx.tenant.name;
        let mut out: Vec<IdentityProvider> = oauth
            .configs()
            .filter(|c| &c.tenant == tenant)
            .map(|c| IdentityProvider {
                kind: "oauth".into(),
                issuer: c.issuer.clone(),
                audiences: match &c.audience {
                    Audience::One(a) => vec![a.clone()],
                    Audience::Many(l) => l.clone(),
                },
                scopes: Scopes::of(&c.scopes).names(),
                jit: None,
                role_claim: None,
            })
            .collect();
        out.extend(
            self.config
                .sign_in
                .configs()
                .filter(|c| &c.tenant == tenant)
                .map(|c| IdentityProvider {
                    kind: "oidc".into(),
                    issuer: c.issuer.clone(),
                    audiences: c.audiences.clone(),
                    scopes: Vec::new(),
                    jit: Some(c.jit),
                    role_claim: Some(match c.hub_roles_token_file {
                        Some(_) => "Hub project roles".into(),
                        None => c.roles_claim.clone(),
                    }),
                }),
        );
        Ok(out)
    }
}
