//! The console in a real browser: the real binary on a loopback port, users
//! seeded over SCIM, one-time links minted with `rollcall console
//! login-link`, the npm `oidc-provider` (`tests/oidc/provider.mjs`) as the
//! tenant's identity provider, and `tests/browser/walk.mjs` driving Debian's chromium
//! through every screen with axe-core (installed by
//! `tests/browser/setup.sh`). Screenshots go to `CONSOLE_SCREENSHOTS`
//! (default `target/console-screenshots`; the guide's are in
//! `docs/console/`).

use std::path::PathBuf;
use std::process::Command;

use serde_json::json;
use tempfile::TempDir;

use crate::oauth::{setup_node, Provider};
use crate::server::{bin, request, token, Server};
use crate::support::{fresh_database, USER};

const ACCESS: &str = "urn:rollcall:scim:schemas:extension:access:2.0:User";

fn browser_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn setup() {
    let out = Command::new("bash")
        .arg(browser_dir().join("setup.sh"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tests/browser/setup.sh failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Seed a user over SCIM: userName, displayName, and the IdP's type.
fn seed(addr: &str, token: &str, user_name: &str, name: &str, viewer: bool) {
    let mut body = json!({"schemas": [USER], "userName": user_name, "displayName": name,
        "emails": [{"value": user_name, "primary": true}]});
    if viewer {
        body["schemas"] = json!([USER, ACCESS]);
        body[ACCESS] = json!({"type": "viewer"});
    }
    let headers = [
        ("Authorization".to_string(), format!("Bearer {token}")),
        (
            "Content-Type".to_string(),
            "application/scim+json".to_string(),
        ),
    ];
    let r = request(
        addr,
        "POST",
        "/scim/v2/Users",
        &headers,
        Some(&body.to_string()),
    );
    assert_eq!(r.status, 201, "{}", r.body);
}

/// `rollcall console login-link`, as the operator would run it.
fn login_link(db: &str, config: &std::path::Path, user: &str) -> String {
    let out = Command::new(bin())
        .args([
            "console",
            "login-link",
            "--tenant",
            "acme",
            "--user",
            user,
            "--database",
            db,
        ])
        .arg("--config")
        .arg(config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn console_in_a_real_browser() {
    setup();
    let dir = TempDir::new().unwrap();
    let db = fresh_database(&dir);
    // The tenant's identity provider, with the console's client; and two
    // mapping rules the Groups walk's own "Data Team" group feeds.
    setup_node();
    let idp = Provider::start(0, &dir.path().join("idp-keys.json"));
    let secret = dir.path().join("console-client-secret");
    std::fs::write(&secret, "c0nsole-s3cret\n").unwrap();
    let config = format!(
        "plans = [\"free\", \"team\"]\n[tenants.acme]\nsuper_admins = [\"root@acme.test\"]\nowner = \"root@acme.test\"\n\n[[oidc]]\ntenant = \"acme\"\nissuer = \"{}\"\nname = \"Test IdP\"\nclient_id = \"rollcall-console\"\nclient_secret_file = \"{}\"\n\
         [[role_mapping]]\nname = \"data-team-plan\"\nmatch = {{ group = \"Data Team\" }}\nset = {{ plan = \"team\" }}\n\
         [[role_mapping]]\nname = \"data-contractors\"\nmatch = {{ group = \"Data Team\", user_type = \"Contractor\" }}\nset = {{ type = \"viewer\" }}\n",
        idp.issuer,
        secret.display()
    );
    let server_cfg = dir.path().join("rollcall.toml");
    std::fs::write(&server_cfg, &config).unwrap();
    let server = Server::start_with(&db, &["--config", server_cfg.to_str().unwrap()]);
    let token = token(&db, "acme");
    let people = [
        ("root@acme.test", "Root Admin", false),
        ("ann@acme.test", "Ann Lee", false),
        ("bob@acme.test", "Bob Stone", false),
        ("mia@acme.test", "Mia Member", false),
        ("dan@acme.test", "Dan Leaving", false),
    ];
    for (u, n, v) in people {
        seed(&server.addr, &token, u, n, v);
    }
    for i in 1..=20 {
        let viewer = i % 7 == 0 || i == 20;
        seed(
            &server.addr,
            &token,
            &format!("user{i:02}@acme.test"),
            &format!("User {i:02}"),
            viewer,
        );
    }
    // The CLI builds the links from public_url.
    let cli_cfg = dir.path().join("cli.toml");
    let public = format!("public_url = \"http://{}/scim/v2\"\n", server.addr);
    std::fs::write(&cli_cfg, format!("{public}{config}")).unwrap();
    let link = |u: &str| login_link(&db, &cli_cfg, u);
    let shots = std::env::var("CONSOLE_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/console-screenshots")
        });
    let out = Command::new("node")
        .arg(browser_dir().join("walk.mjs"))
        .current_dir(browser_dir())
        .env("BASE", format!("http://{}", server.addr))
        .env("SCIM_TOKEN", &token)
        .env("LINK_ADMIN", link("root@acme.test"))
        .env("LINK_MEMBER", link("mia@acme.test"))
        .env("LINK_DAN", link("dan@acme.test"))
        .env("OIDC_ISSUER", &idp.issuer)
        .env("SHOTS", &shots)
        .output()
        .expect("node is needed for the browser tests");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser walk failed:\n{stderr}\n{stdout}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(stdout.trim().lines().last().unwrap()).unwrap();
    let screens = summary["axe"].as_object().unwrap();
    assert!(screens.len() >= 10, "axe ran on every screen: {summary}");
    for (name, r) in screens {
        assert_eq!(r["seriousOrCritical"], 0, "{name}: {r}");
    }
    eprintln!("axe: {summary}");
}
