//! A JetBrains Hub's role keys. Hub is an OpenID Provider (discovery at
//! `<Hub>/.well-known/openid-configuration`), but it documents no roles
//! claim in its ID tokens or its userinfo: a user's roles — with their
//! `key`, such as `datalore-viewer` — are in Hub's REST API. With
//! `hub_roles_token_file`, Rollcall reads them there after verifying the
//! ID token, as the roles of the token's subject, with a permanent token of
//! a Hub account allowed to read users, roles and projects.

use openidconnect::reqwest;
use serde_json::Value;

use super::OidcConfig;
use crate::directory::oauth::OAuthError;

/// Where and how to read a Hub user's role keys.
pub(super) struct HubRoles {
    /// Hub's base URL, without a trailing slash.
    url: String,
    /// The permanent token (read from its file at start).
    token: String,
}

/// Most roles read for one user.
const MAX_ROLES: usize = 1000;

impl HubRoles {
    /// The Hub settings of an `[[oidc]]` entry, if it has them; the token
    /// file is read now, so a missing one stops the start.
    pub(super) fn from_config(c: &OidcConfig) -> Result<Option<Self>, String> {
        let Some(file) = &c.hub_roles_token_file else {
            return Ok(None);
        };
        let token = std::fs::read_to_string(file)
            .map_err(|e| format!("oidc issuer {}: hub_roles_token_file {file}: {e}", c.issuer))?
            .trim()
            .to_string();
        if token.is_empty() {
            return Err(format!(
                "oidc issuer {}: hub_roles_token_file {file} is empty",
                c.issuer
            ));
        }
        let url = c.hub_url.as_deref().unwrap_or(&c.issuer);
        Ok(Some(Self {
            url: url.trim_end_matches('/').to_string(),
            token,
        }))
    }

    /// The keys of the roles the Hub user `id` holds, directly or through
    /// groups, in any project: `GET /api/rest/users/{id}/transitiveprojectroles`.
    pub(super) async fn role_keys(
        &self,
        http: &reqwest::Client,
        id: &str,
    ) -> Result<Vec<String>, OAuthError> {
        let user: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
        let url = format!(
            "{}/api/rest/users/{user}/transitiveprojectroles?fields=role(key)&$top={MAX_ROLES}",
            self.url
        );
        let unreachable =
            |e: &dyn std::fmt::Display| OAuthError::Discovery(format!("Hub roles: {e}"));
        let resp = http
            .get(&url)
            .bearer_auth(&self.token)
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| unreachable(&e))?;
        if !resp.status().is_success() {
            return Err(unreachable(&format!("{url} answered {}", resp.status())));
        }
        let bytes = resp.bytes().await.map_err(|e| unreachable(&e))?;
        let body: Value = serde_json::from_slice(&bytes).map_err(|e| unreachable(&e))?;
        Ok(keys_of(&body))
    }
}

/// The role keys of a page of project roles, each once, in order.
fn keys_of(body: &Value) -> Vec<String> {
    let list = body
        .as_object()
        .and_then(|o| {
            o.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("transitiveprojectroles"))
        })
        .and_then(|(_, v)| v.as_array());
    let mut out: Vec<String> = Vec::new();
    for key in list
        .into_iter()
        .flatten()
        .filter_map(|pr| pr["role"]["key"].as_str())
    {
        if !out.iter().any(|k| k == key) {
            out.push(key.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn role_keys_are_read_from_a_page_of_project_roles() {
        let page = json!({"skip": 0, "top": 1000, "total": 3, "transitiveProjectRoles": [
            {"role": {"key": "datalore-viewer"}, "project": {"name": "Global"}},
            {"role": {"key": "datalore-viewer"}, "project": {"name": "Sales"}},
            {"role": {"name": "no key"}},
            {"role": {"key": "datalore-admin"}}]});
        assert_eq!(keys_of(&page), vec!["datalore-viewer", "datalore-admin"]);
        assert!(keys_of(&json!({"total": 0})).is_empty());
    }
}
