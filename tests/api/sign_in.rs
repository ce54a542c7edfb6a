//! Sign-in provisioning (`POST /admin/v1/sign-in`) with ID tokens that the
//! real npm `oidc-provider` signs at the end of an authorization code flow
//! (`tests/oidc/provider.mjs`), against the real binary configured with the
//! shipped `rollcall.example.toml` (its `datalore-viewer` rule unchanged)
//! plus `[[oidc]]` entries.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};

use crate::oauth::{setup_node, Provider};
use crate::server::{request, run, token, Server};
use crate::support::enc;

const ROLES: &str = "https://rollcall.test/roles";

/// An ID token for `account` with these claims, issued to `client`.
fn id_token(
    p: &Provider,
    client: &str,
    account: &str,
    claims: Value,
    nonce: Option<&str>,
) -> String {
    let addr = p.issuer.trim_start_matches("http://");
    let mut path = format!(
        "/test/id-token?client={client}&account={}&claims={}",
        enc(account),
        enc(&claims.to_string())
    );
    if let Some(n) = nonce {
        path.push_str(&format!("&nonce={}", enc(n)));
    }
    let r = request(addr, "GET", &path, &[], None);
    assert_eq!(r.status, 200, "{}", r.body);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    v["id_token"].as_str().unwrap().to_string()
}

/// The example configuration, with one `[[oidc]]` entry per
/// (tenant, issuer, jit, further lines of the entry).
fn config(dir: &Path, entries: &[(&str, &str, bool, &str)]) -> PathBuf {
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("rollcall.example.toml"),
    )
    .unwrap();
    let mut text = format!("oauth_jwks_refresh_seconds = 1\n{example}\n");
    for (tenant, issuer, jit, extra) in entries {
        text.push_str(&format!(
            "[[oidc]]\ntenant = \"{tenant}\"\nissuer = \"{issuer}\"\naudiences = [\"host-app\", \"host-app-short\"]\nroles_claim = \"{ROLES}\"\ngroups_claim = \"groups\"\njit = {jit}\nleeway_seconds = 0\n{extra}"
        ));
    }
    let path = dir.join(format!("rollcall-{}.toml", entries.len()));
    std::fs::write(&path, text).unwrap();
    path
}

/// A credential for the host's sign-in reports: the `sign-in` scope only.
fn sign_in_token(db: &str, tenant: &str) -> String {
    run(&[
        "token",
        "create",
        "--tenant",
        tenant,
        "--label",
        "host",
        "--database",
        db,
        "--scope",
        "sign-in",
    ])
    .trim()
    .to_string()
}

fn headers(token: &str) -> Vec<(String, String)> {
    vec![
        ("Authorization".into(), format!("Bearer {token}")),
        ("Content-Type".into(), "application/json".into()),
    ]
}

/// `POST /admin/v1/sign-in`: the status and the JSON answer.
fn sign_in(addr: &str, token: &str, id_token: &str, nonce: Option<&str>) -> (u16, Value) {
    let mut body = json!({"idToken": id_token});
    if let Some(n) = nonce {
        body["nonce"] = json!(n);
    }
    call(addr, token, "POST", "/admin/v1/sign-in", Some(body))
}

/// A request with a bearer token: the status and the JSON body.
fn call(addr: &str, token: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let text = body.map(|b| b.to_string());
    let r = request(addr, method, path, &headers(token), text.as_deref());
    (
        r.status,
        serde_json::from_str(&r.body).unwrap_or(Value::Null),
    )
}

/// Where a user's effective access came from (`rollcall user show --json`,
/// with the server's configuration).
fn explanation(db: &str, cfg: &Path, id: &str) -> String {
    let cfg = cfg.to_str().unwrap();
    let shown = run(&[
        "user",
        "show",
        "--tenant",
        "acme",
        "--json",
        "--database",
        db,
        "--config",
        cfg,
        id,
    ]);
    let v: Value = serde_json::from_str(&shown).unwrap();
    v["access"].to_string()
}

fn user_count(addr: &str, scim_token: &str) -> i64 {
    call(addr, scim_token, "GET", "/scim/v2/Users", None).1["totalResults"]
        .as_i64()
        .unwrap()
}

/// A provider, a database with a SCIM and a sign-in credential for
/// `acme`, and a server whose `[[oidc]]` entry for `acme` trusts the
/// provider (plus `other` for `globex`).
struct Setup {
    provider: Provider,
    db: String,
    cfg: PathBuf,
    scim: String,
    host: String,
    server: Server,
    _dir: tempfile::TempDir,
}

impl Setup {
    fn start(jit: bool, other: Option<&Provider>) -> Setup {
        Self::start_with(jit, other, "")
    }

    /// With further lines in the `acme` entry.
    fn start_with(jit: bool, other: Option<&Provider>, extra: &str) -> Setup {
        setup_node();
        let dir = tempfile::tempdir().unwrap();
        let provider = Provider::start(0, &dir.path().join("keys-a.json"));
        let db = crate::support::fresh_database(&dir);
        let scim = token(&db, "acme");
        let host = sign_in_token(&db, "acme");
        let mut entries = vec![("acme", provider.issuer.as_str(), jit, extra)];
        if let Some(o) = other {
            entries.push(("globex", o.issuer.as_str(), jit, ""));
        }
        let cfg = config(dir.path(), &entries);
        let server = Server::start_with(&db, &["--config", cfg.to_str().unwrap()]);
        Setup {
            provider,
            db,
            cfg,
            scim,
            host,
            server,
            _dir: dir,
        }
    }
}

impl Setup {
    /// A sign-in of `sub` with this email and roles claim.
    fn sign_in_as(&self, sub: &str, email: &str, verified: bool, roles: &[&str]) -> (u16, Value) {
        let claims = json!({"email": email, "email_verified": verified, ROLES: roles});
        let token = id_token(&self.provider, "host-app", sub, claims, None);
        sign_in(&self.server.addr, &self.host, &token, None)
    }
}

/// A user `name` (email `name@acme.test`) pushed over SCIM; its id.
fn scim_user(addr: &str, scim_token: &str, name: &str, roles: Value) -> String {
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
                      "emails": [{"value": format!("{name}@acme.test"), "primary": true}], "roles": roles});
    let (status, u) = call(addr, scim_token, "POST", "/scim/v2/Users", Some(body));
    assert_eq!(status, 201, "{u}");
    u["id"].as_str().unwrap().to_string()
}

fn ann(roles: &[&str]) -> Value {
    json!({"email": "ann@acme.test", "email_verified": true, "name": "Ann Lee",
           "given_name": "Ann", "family_name": "Lee", ROLES: roles})
}

#[test]
fn sign_in_creates_the_user_and_maps_the_role_claim_again_each_time() {
    let t = Setup::start(true, None);
    let (provider, scim_token, host) = (&t.provider, &t.scim, &t.host);
    let addr = t.server.addr.clone();

    // First sign-in: the user is created, and the shipped datalore-viewer
    // rule makes them a viewer.
    let t = id_token(
        provider,
        "host-app",
        "auth0|ann",
        ann(&["datalore-viewer"]),
        Some("n-1"),
    );
    let (status, first) = sign_in(&addr, host, &t, Some("n-1"));
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["allowed"], true);
    assert_eq!(first["created"], true);
    let user = &first["user"];
    assert_eq!(user["userName"], "ann@acme.test");
    assert_eq!(
        (user["type"].as_str(), user["role"].as_str()),
        (Some("viewer"), Some("read-only"))
    );
    assert_eq!(user["status"], "active");
    let id = user["id"].as_str().unwrap().to_string();
    let (_, scim_user) = call(
        &addr,
        scim_token,
        "GET",
        &format!("/scim/v2/Users/{id}"),
        None,
    );
    assert_eq!(scim_user["displayName"], "Ann Lee");
    assert_eq!(scim_user["emails"][0]["value"], "ann@acme.test");
    let version = scim_user["meta"]["version"].clone();

    // The same sign-in again: no new user, nothing to re-map, no new version.
    let again = id_token(
        provider,
        "host-app",
        "auth0|ann",
        ann(&["datalore-viewer"]),
        None,
    );
    let (_, second) = sign_in(&addr, host, &again, None);
    assert_eq!(
        (second["allowed"].as_bool(), second["created"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(second["user"]["id"], id.as_str());
    let (_, same) = call(
        &addr,
        scim_token,
        "GET",
        &format!("/scim/v2/Users/{id}"),
        None,
    );
    assert_eq!(same["meta"]["version"], version);

    // The role claim changed at the IdP: the next sign-in maps it again.
    let promoted = id_token(
        provider,
        "host-app",
        "auth0|ann",
        ann(&["datalore-admin"]),
        None,
    );
    let (_, third) = sign_in(&addr, host, &promoted, None);
    assert_eq!(third["allowed"], true, "{third}");
    assert_eq!(
        (
            third["user"]["type"].as_str(),
            third["user"]["role"].as_str()
        ),
        (Some("user"), Some("admin"))
    );
    assert_eq!(third["user"]["projects"]["*"], "editor");
    let (_, moved) = call(
        &addr,
        scim_token,
        "GET",
        &format!("/scim/v2/Users/{id}"),
        None,
    );
    assert_ne!(
        moved["meta"]["version"], version,
        "a re-mapping is a new version"
    );
    assert_eq!(user_count(&addr, scim_token), 1);
}

#[test]
fn groups_claims_map_like_memberships_and_users_without_a_verified_email_are_named_by_preferred_username(
) {
    let t = Setup::start(true, None);
    let (provider, db, cfg, host) = (&t.provider, &t.db, &t.cfg, &t.host);
    let addr = t.server.addr.clone();
    // A groups claim works like SCIM membership of that group, and the
    // explanation says where the access came from.
    let grouped = json!({"email": "ann@acme.test", "email_verified": true, "groups": ["Admins"]});
    let t = id_token(provider, "host-app", "auth0|ann", grouped, None);
    let (_, fourth) = sign_in(&addr, host, &t, None);
    let id = fourth["user"]["id"].as_str().unwrap().to_string();
    assert_eq!(fourth["user"]["role"], "admin", "{fourth}");
    let access = explanation(db, cfg, &id);
    assert!(
        access.contains("groups claim has \\\"Admins\\\""),
        "{access}"
    );

    // Claims persist: a later sign-in without any role claim drops them.
    let plain = json!({"email": "ann@acme.test", "email_verified": true});
    let t = id_token(provider, "host-app", "auth0|ann", plain, None);
    let (_, fifth) = sign_in(&addr, host, &t, None);
    assert_eq!(
        (
            fifth["user"]["type"].as_str(),
            fifth["user"]["role"].as_str()
        ),
        (Some("user"), Some("member"))
    );

    // A second identity with a preferred_username and no verified email.
    let bob =
        json!({"email": "bob@acme.test", "email_verified": false, "preferred_username": "bob"});
    let t = id_token(provider, "host-app", "hub|bob", bob, None);
    let (_, b) = sign_in(&addr, host, &t, None);
    assert_eq!(
        (b["created"].as_bool(), b["user"]["userName"].as_str()),
        (Some(true), Some("bob"))
    );
}

/// A real token with its payload changed and the signature kept.
fn tampered(token: &str) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    claims[ROLES] = json!(["datalore-admin"]);
    format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(claims.to_string()),
        parts[2]
    )
}

#[test]
fn refused_id_tokens_get_401_and_change_nothing() {
    setup_node();
    // A real issuer, configured for another tenant only.
    let keys = tempfile::tempdir().unwrap();
    let other = Provider::start(0, &keys.path().join("keys-other.json"));
    let mut t = Setup::start(true, Some(&other));
    let (db, scim_token, host) = (t.db.clone(), t.scim.clone(), t.host.clone());
    let globex = sign_in_token(&db, "globex");
    let addr = t.server.addr.clone();
    let provider = &t.provider;
    let claims = ann(&["datalore-viewer"]);
    let good = id_token(
        provider,
        "host-app",
        "auth0|ann",
        claims.clone(),
        Some("n-1"),
    );
    let short = id_token(
        provider,
        "host-app-short",
        "auth0|ann",
        claims.clone(),
        None,
    );
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = good.split('.').nth(1).unwrap();
    let refused = [
        ("tampered", tampered(&good), Some("n-1")),
        (
            "wrong audience",
            id_token(provider, "other-app", "auth0|ann", claims.clone(), None),
            None,
        ),
        (
            "wrong issuer",
            id_token(&other, "host-app", "auth0|ann", claims.clone(), None),
            None,
        ),
        ("nonce mismatch", good.clone(), Some("n-2")),
        (
            "nonce missing",
            id_token(provider, "host-app", "auth0|ann", claims.clone(), None),
            Some("n-1"),
        ),
        (
            "alg none",
            format!("{}.{payload}.", b64.encode(r#"{"alg":"none"}"#)),
            None,
        ),
        ("not a JWT", "not-a-token".to_string(), None),
    ];
    std::thread::sleep(Duration::from_millis(2100));
    for (what, t, nonce) in refused.iter().chain([("expired", short, None)].iter()) {
        let (status, body) = sign_in(&addr, &host, t, *nonce);
        assert_eq!(status, 401, "{what}: {body}");
        assert_eq!(body["error"], "invalid_token", "{what}: {body}");
    }
    assert_eq!(
        user_count(&addr, &scim_token),
        0,
        "a refused token creates nobody"
    );
    // The other issuer's token signs in at the tenant it is configured for.
    let theirs = id_token(&other, "host-app", "auth0|ann", claims.clone(), None);
    assert_eq!(sign_in(&addr, &globex, &theirs, None).1["created"], true);

    // The untouched token works (with its nonce), for its tenant only.
    assert_eq!(sign_in(&addr, &globex, &good, Some("n-1")).0, 401);
    let (status, body) = sign_in(&addr, &host, &good, Some("n-1"));
    assert_eq!(
        (status, body["created"].as_bool()),
        (200, Some(true)),
        "{body}"
    );

    // Key rotation: the provider restarts with a new key on the same port;
    // Rollcall fetches the new JWKS on the unknown key id (refetches are
    // throttled to one per second here).
    t.provider.rotate(&keys.path().join("keys-b.json"));
    std::thread::sleep(Duration::from_millis(1100));
    let fresh = id_token(&t.provider, "host-app", "auth0|ann", claims, None);
    let (status, body) = sign_in(&addr, &host, &fresh, None);
    assert_eq!(
        (status, body["created"].as_bool()),
        (200, Some(false)),
        "{body}"
    );
    // The old key is gone: the token it signed no longer verifies.
    assert_eq!(sign_in(&addr, &host, &good, Some("n-1")).0, 401);
    assert_eq!(user_count(&addr, &scim_token), 1);
}

#[test]
fn provisioned_users_are_bound_by_verified_email_and_their_scim_roles_win() {
    let t = Setup::start(false, None);
    let (db, cfg, scim_token) = (&t.db, &t.cfg, &t.scim);
    let addr = t.server.addr.clone();
    let dan = scim_user(
        &addr,
        scim_token,
        "dan",
        json!([{"value": "datalore-admin"}]),
    );
    let eve = scim_user(&addr, scim_token, "eve", json!([]));
    let signed = |sub: &str, email: &str, verified: bool, roles: &[&str]| {
        t.sign_in_as(sub, email, verified, roles)
    };

    // jit is off: an unverified email matches nobody, and nobody is created.
    let (status, none) = signed("auth0|dan", "dan@acme.test", false, &[]);
    assert_eq!(status, 200);
    assert_eq!(
        (none["allowed"].as_bool(), none["created"].as_bool()),
        (Some(false), Some(false))
    );
    assert!(
        none["user"].is_null() && none["reason"].as_str().unwrap().contains("jit"),
        "{none}"
    );
    assert_eq!(user_count(&addr, scim_token), 2);

    // The verified email binds the identity to the SCIM user; their SCIM
    // roles beat the roles claim.
    let (_, d) = signed("auth0|dan", "DAN@acme.test", true, &["datalore-viewer"]);
    assert_eq!(
        (d["allowed"].as_bool(), d["user"]["id"].as_str()),
        (Some(true), Some(dan.as_str())),
        "{d}"
    );
    assert_eq!(
        (d["user"]["type"].as_str(), d["user"]["role"].as_str()),
        (Some("user"), Some("admin"))
    );
    let access = explanation(db, cfg, &dan);
    assert!(access.contains("roles claim is not used"), "{access}");
    // Bound now: the subject finds the user whatever the email says.
    let (_, again) = signed("auth0|dan", "dan.new@acme.test", false, &[]);
    assert_eq!(again["user"]["id"], dan.as_str());
    // Another identity of the same issuer cannot take the bound user.
    let (status, taken) = signed("auth0|mallory", "dan@acme.test", true, &[]);
    assert_eq!(status, 409, "{taken}");

    // A SCIM user without roles gets them from the claim.
    let (_, e) = signed("auth0|eve", "eve@acme.test", true, &["datalore-viewer"]);
    assert_eq!(
        (e["user"]["id"].as_str(), e["user"]["type"].as_str()),
        (Some(eve.as_str()), Some("viewer"))
    );
}

#[test]
fn disabled_and_deleted_users_are_refused_and_nothing_changes() {
    let t = Setup::start(false, None);
    let scim_token = &t.scim;
    let addr = t.server.addr.clone();
    let dan = scim_user(&addr, scim_token, "dan", json!([]));
    let eve = scim_user(&addr, scim_token, "eve", json!([]));
    let signed = |sub: &str, email: &str, verified: bool, roles: &[&str]| {
        t.sign_in_as(sub, email, verified, roles)
    };
    for (who, roles) in [("dan", ["datalore-admin"]), ("eve", ["datalore-viewer"])] {
        let (_, first) = signed(
            &format!("auth0|{who}"),
            &format!("{who}@acme.test"),
            true,
            &roles,
        );
        assert_eq!(first["allowed"], true, "{first}");
    }

    // Disabled by the IdP over SCIM: refused with the reason, nothing changes.
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": [{"op": "replace", "path": "active", "value": false}]});
    let (status, _) = call(
        &addr,
        scim_token,
        "PATCH",
        &format!("/scim/v2/Users/{eve}"),
        Some(patch),
    );
    assert_eq!(status, 200);
    let (_, before) = call(
        &addr,
        scim_token,
        "GET",
        &format!("/scim/v2/Users/{eve}"),
        None,
    );
    let (status, off) = signed("auth0|eve", "eve@acme.test", true, &["datalore-admin"]);
    assert_eq!(status, 200);
    assert_eq!(
        (off["allowed"].as_bool(), off["user"]["status"].as_str()),
        (Some(false), Some("disabled"))
    );
    assert!(
        off["reason"].as_str().unwrap().contains("disabled"),
        "{off}"
    );
    assert_eq!(
        off["user"]["type"], "viewer",
        "the refused claims were not applied"
    );
    let (_, after) = call(
        &addr,
        scim_token,
        "GET",
        &format!("/scim/v2/Users/{eve}"),
        None,
    );
    assert_eq!(after["meta"]["version"], before["meta"]["version"]);

    // Banned by an admin (a local hold): refused with the ban's reason.
    let cfg = t.cfg.to_str().unwrap();
    run(&[
        "user",
        "ban",
        "--tenant",
        "acme",
        "--reason",
        "left the company",
        "--database",
        &t.db,
        "--config",
        cfg,
        "dan",
    ]);
    let (status, banned) = signed("auth0|dan", "dan@acme.test", true, &["datalore-viewer"]);
    assert_eq!(status, 200);
    assert_eq!(
        (
            banned["allowed"].as_bool(),
            banned["user"]["status"].as_str()
        ),
        (Some(false), Some("banned")),
        "{banned}"
    );
    assert!(
        banned["reason"]
            .as_str()
            .unwrap()
            .contains("left the company"),
        "{banned}"
    );

    // Deleted: refused too.
    let (status, _) = call(
        &addr,
        scim_token,
        "DELETE",
        &format!("/scim/v2/Users/{dan}"),
        None,
    );
    assert_eq!(status, 204);
    let (_, gone) = signed("auth0|dan", "dan@acme.test", true, &[]);
    assert_eq!(gone["allowed"], false);
    assert_eq!(gone["reason"], "the user is deleted");
}

#[test]
fn a_hub_signs_users_in_and_its_rest_api_gives_their_role_keys() {
    let keys = tempfile::tempdir().unwrap();
    let token_file = keys.path().join("hub-token");
    std::fs::write(&token_file, "perm:hub-service-token\n").unwrap();
    let extra = format!("hub_roles_token_file = \"{}\"\n", token_file.display());
    let t = Setup::start_with(true, None, &extra);
    let addr = t.server.addr.clone();
    // Hub's ID token carries no roles; Hub's REST API has the role keys.
    // A roles claim, if some other party added one, is not read.
    let claims = json!({"email": "hana@acme.test", "email_verified": true,
                        "hub_roles": ["datalore-viewer"], ROLES: ["datalore-admin"]});
    let token = id_token(&t.provider, "host-app", "hub-user-1", claims, None);
    let (status, first) = sign_in(&addr, &t.host, &token, None);
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["created"], true);
    assert_eq!(
        (
            first["user"]["type"].as_str(),
            first["user"]["role"].as_str()
        ),
        (Some("viewer"), Some("read-only"))
    );
    // The role is granted to someone else in Hub: the next sign-in follows.
    let claims =
        json!({"email": "hana@acme.test", "email_verified": true, "hub_roles": ["datalore-admin"]});
    let token = id_token(&t.provider, "host-app", "hub-user-1", claims, None);
    let (_, second) = sign_in(&addr, &t.host, &token, None);
    assert_eq!(
        (
            second["user"]["type"].as_str(),
            second["user"]["role"].as_str()
        ),
        (Some("user"), Some("admin"))
    );

    // Hub refuses the service token: the sign-in is refused, nothing changes.
    std::fs::write(&token_file, "perm:revoked\n").unwrap();
    let restarted = Server::start_with(&t.db, &["--config", t.cfg.to_str().unwrap()]);
    let claims = json!({"email": "hana@acme.test", "email_verified": true, "hub_roles": []});
    let token = id_token(&t.provider, "host-app", "hub-user-1", claims, None);
    let (status, body) = sign_in(&restarted.addr, &t.host, &token, None);
    assert_eq!(status, 401, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("Hub roles"),
        "{body}"
    );
    let id = second["user"]["id"].as_str().unwrap();
    let access = explanation(&t.db, &t.cfg, id);
    assert!(access.contains(r#""role":{"value":"admin""#), "{access}");
}
