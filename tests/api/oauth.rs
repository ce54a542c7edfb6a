//! OAuth JWT access tokens from a real OpenID provider (npm `oidc-provider`,
//! started on loopback): valid, expired, wrong audience, forged, rotated key.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;

use crate::server::{request, token, Server};

fn oidc_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc")
}

/// The npm `oidc-provider` on a loopback port (`tests/oidc/provider.mjs`),
/// killed on drop; `sign_in.rs` uses it too.
pub(crate) struct Provider {
    child: Child,
    pub(crate) issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Provider {
    /// Start the provider; a start that prints no issuer line within 20 s
    /// (a Node.js start that stalls, seen on loaded machines) is killed and
    /// tried again, at most three times in all.
    pub(crate) fn start(port: u16, keyset: &Path) -> Provider {
        let mut last = String::new();
        for _ in 0..3 {
            match Self::try_start(port, keyset) {
                Ok(p) => return p,
                Err(why) => last = why,
            }
        }
        panic!("the OpenID provider did not start: {last}");
    }

    fn try_start(port: u16, keyset: &Path) -> Result<Provider, String> {
        let mut child = Command::new("node")
            .arg(oidc_dir().join("provider.mjs"))
            .env("OIDC_PORT", port.to_string())
            .env("OIDC_KEYSET", keyset)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node is needed for the OAuth tests");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("no issuer line within 20 s".into());
            }
        };
        match line.trim().strip_prefix("issuer ") {
            Some(issuer) => Ok(Provider {
                child,
                issuer: issuer.to_string(),
            }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!("unexpected first line {line:?}"))
            }
        }
    }

    /// Stop, then start again on the same port with another key set: the
    /// issuer stays, its keys change.
    pub(crate) fn rotate(&mut self, keyset: &Path) {
        let port = self.port();
        let _ = self.child.kill();
        let _ = self.child.wait();
        *self = Provider::start(port, keyset);
    }

    pub(crate) fn port(&self) -> u16 {
        self.issuer.rsplit(':').next().unwrap().parse().unwrap()
    }

    pub(crate) fn token(&self, resource: &str) -> String {
        let addr = self.issuer.trim_start_matches("http://");
        let body = format!(
            "grant_type=client_credentials&client_id=rollcall-test&client_secret=s3cret&scope=scim&resource={}",
            crate::support::enc(resource)
        );
        let r = request(
            addr,
            "POST",
            "/token",
            &[(
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            Some(&body),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        v["access_token"].as_str().unwrap().to_string()
    }
}

pub(crate) fn setup_node() {
    // Once per test binary: parallel `npm ci` runs in one folder would
    // break each other on a fresh checkout (scripts/test runs it first).
    static SETUP: std::sync::Once = std::sync::Once::new();
    SETUP.call_once(|| {
        let status = Command::new("bash")
            .arg(oidc_dir().join("setup.sh"))
            .status()
            .unwrap();
        assert!(status.success(), "tests/oidc/setup.sh failed");
    });
}

fn get_users(addr: &str, token: &str) -> crate::server::HttpResponse {
    request(
        addr,
        "GET",
        "/scim/v2/Users",
        &[("Authorization".into(), format!("Bearer {token}"))],
        None,
    )
}

#[test]
fn jwt_access_tokens_from_a_configured_issuer() {
    setup_node();
    let dir = tempfile::tempdir().unwrap();
    let provider = Provider::start(0, &dir.path().join("keys-a.json"));
    let db = crate::support::fresh_database(&dir);
    // Data of another tenant, reachable only with a Rollcall token.
    let other = token(&db, "globex");
    let config = dir.path().join("rollcall.toml");
    std::fs::write(
        &config,
        format!(
            "oauth_jwks_refresh_seconds = 1\n[[oauth]]\ntenant = \"acme\"\nissuer = \"{}\"\naudience = [\"urn:rollcall:scim\", \"urn:rollcall:short\"]\nleeway_seconds = 0\n",
            provider.issuer
        ),
    )
    .unwrap();
    let server = Server::start_with(&db, &["--config", config.to_str().unwrap()]);
    let addr = server.addr.clone();
    let auth = |t: &str| {
        vec![
            ("Authorization".to_string(), format!("Bearer {t}")),
            (
                "Content-Type".to_string(),
                "application/scim+json".to_string(),
            ),
        ]
    };
    let body = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"theirs"}"#;
    assert_eq!(
        request(&addr, "POST", "/scim/v2/Users", &auth(&other), Some(body)).status,
        201
    );

    // A valid token works, for its tenant only.
    let good = provider.token("urn:rollcall:scim");
    let r = get_users(&addr, &good);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("\"totalResults\":0"), "{}", r.body);
    let body = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ours"}"#;
    assert_eq!(
        request(&addr, "POST", "/scim/v2/Users", &auth(&good), Some(body)).status,
        201
    );

    // Wrong audience.
    let r = get_users(&addr, &provider.token("urn:other:api"));
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(
        !r.body.contains("audience"),
        "the reason stays in the log: {}",
        r.body
    );

    // Tampered payload: the signature no longer matches.
    let parts: Vec<&str> = good.split('.').collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims: serde_json::Value =
        serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    claims["aud"] = serde_json::json!("urn:rollcall:scim");
    claims["exp"] = serde_json::json!(4_000_000_000i64);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(claims.to_string()),
        parts[2]
    );
    assert_eq!(get_users(&addr, &forged).status, 401);
    // alg none is refused outright.
    let none = format!(
        "{}.{}.",
        b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    assert_eq!(get_users(&addr, &none).status, 401);

    // Expired (1 s lifetime, no leeway).
    let short = provider.token("urn:rollcall:short");
    std::thread::sleep(Duration::from_millis(2100));
    let r = get_users(&addr, &short);
    assert_eq!(r.status, 401, "{}", r.body);

    // Key rotation: the provider restarts with a new key on the same port;
    // Rollcall fetches the new JWKS on the unknown kid.
    let port = provider.port();
    drop(provider);
    let rotated = Provider::start(port, &dir.path().join("keys-b.json"));
    // Refetches are throttled to one per oauth_jwks_refresh_seconds.
    std::thread::sleep(Duration::from_millis(1100));
    let fresh = rotated.token("urn:rollcall:scim");
    let r = get_users(&addr, &fresh);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("\"userName\":\"ours\""));
    // The old key is gone: a token it signed no longer verifies.
    assert_eq!(get_users(&addr, &good).status, 401);

    // allowed_clients: another app of the same issuer and audience is refused.
    let strict = dir.path().join("strict.toml");
    std::fs::write(
        &strict,
        format!(
            "[[oauth]]\ntenant = \"acme\"\nissuer = \"{}\"\naudience = \"urn:rollcall:scim\"\nallowed_clients = [\"some-other-app\"]\n",
            rotated.issuer
        ),
    )
    .unwrap();
    let db2 = crate::support::fresh_database(&dir);
    let server2 = Server::start_with(&db2, &["--config", strict.to_str().unwrap()]);
    assert_eq!(get_users(&server2.addr, &fresh).status, 401);
}

/// The issuer withdraws its key without any token naming a new one:
/// Rollcall notices when its keys pass `oauth_jwks_max_age_seconds`.
#[test]
fn keys_past_their_age_are_refetched_so_a_withdrawn_key_stops_verifying() {
    setup_node();
    let dir = tempfile::tempdir().unwrap();
    let mut provider = Provider::start(0, &dir.path().join("keys-a.json"));
    let db = crate::support::fresh_database(&dir);
    let config = dir.path().join("rollcall.toml");
    std::fs::write(
        &config,
        format!(
            "oauth_jwks_refresh_seconds = 1\noauth_jwks_max_age_seconds = 2\n[[oauth]]\ntenant = \"acme\"\nissuer = \"{}\"\naudience = \"urn:rollcall:scim\"\n",
            provider.issuer
        ),
    )
    .unwrap();
    let server = Server::start_with(&db, &["--config", config.to_str().unwrap()]);
    let old = provider.token("urn:rollcall:scim");
    assert_eq!(get_users(&server.addr, &old).status, 200);
    // Same issuer, new key set; the old token's key id is simply gone.
    provider.rotate(&dir.path().join("keys-b.json"));
    assert_eq!(
        get_users(&server.addr, &old).status,
        200,
        "young keys are trusted without a fetch"
    );
    std::thread::sleep(Duration::from_millis(2200));
    let r = get_users(&server.addr, &old);
    assert_eq!(r.status, 401, "{}", r.body);
    let fresh = provider.token("urn:rollcall:scim");
    assert_eq!(get_users(&server.addr, &fresh).status, 200);
}

#[test]
fn plain_http_issuers_are_refused_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(
        &config,
        "[[oauth]]\ntenant = \"t\"\nissuer = \"http://idp.example.com/\"\naudience = \"a\"\n",
    )
    .unwrap();
    let out = Command::new(crate::server::bin())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--config",
            config.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("must use https"));
}
