//! IdP replay suites (`conformance/replay/*.json`): each identity provider's
//! documented lifecycle, replayed against the real binary on a fresh
//! database. Format: `conformance/replay/README.md`.

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::Value;

use crate::server::{request, token, Server};

fn replay_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("conformance/replay")
}

/// Replace `${name}` with captured values.
fn substitute(s: &str, vars: &HashMap<String, String>) -> String {
    let mut out = s.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("${{{k}}}"), v);
    }
    out
}

fn substitute_json(v: &Value, vars: &HashMap<String, String>) -> Value {
    match v {
        Value::String(s) => Value::String(substitute(s, vars)),
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute_json(x, vars)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (substitute(k, vars), substitute_json(x, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Subset match; returns a description of the first mismatch.
fn matches(expected: &Value, actual: Option<&Value>, at: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::String(s), a) if s == "$absent" => match a {
            None | Some(Value::Null) => Ok(()),
            Some(a) => Err(format!("{at}: expected absent, got {a}")),
        },
        (Value::String(s), a) if s == "$any" => a
            .filter(|a| !a.is_null())
            .map(|_| ())
            .ok_or_else(|| format!("{at}: expected a value, got none")),
        (Value::String(s), a) if s == "$string" => match a {
            Some(Value::String(_)) => Ok(()),
            other => Err(format!("{at}: expected a string, got {other:?}")),
        },
        (Value::String(s), a) if s == "$number" => match a {
            Some(Value::Number(_)) => Ok(()),
            other => Err(format!("{at}: expected a number, got {other:?}")),
        },
        (_, None) => Err(format!("{at}: missing (expected {expected})")),
        (Value::Object(e), Some(Value::Object(a))) => {
            for (k, ev) in e {
                matches(ev, a.get(k), &format!("{at}/{k}"))?;
            }
            Ok(())
        }
        (Value::Array(e), Some(Value::Array(a))) => {
            if e.len() != a.len() {
                return Err(format!(
                    "{at}: expected {} items, got {}: {}",
                    e.len(),
                    a.len(),
                    Value::Array(a.clone())
                ));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                matches(ev, Some(av), &format!("{at}/{i}"))?;
            }
            Ok(())
        }
        (e, Some(a)) if e == a => Ok(()),
        (e, Some(a)) => Err(format!("{at}: expected {e}, got {a}")),
    }
}

fn run_suite(file: &str) {
    let path = replay_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let suite: Value = serde_json::from_str(&text).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = crate::support::fresh_database(&dir);
    let token = token(&db, "replay");
    let server = Server::start(&db);
    let mut vars: HashMap<String, String> = HashMap::new();
    let steps = suite["steps"].as_array().unwrap();
    assert!(!steps.is_empty());
    for (i, step) in steps.iter().enumerate() {
        let name = format!(
            "{} step {i} ({})",
            suite["name"],
            step["name"].as_str().unwrap_or("")
        );
        let req = &step["request"];
        let method = req["method"].as_str().unwrap();
        let path = format!(
            "/scim/v2{}",
            substitute(req["path"].as_str().unwrap(), &vars)
        );
        let mut headers: Vec<(String, String)> =
            vec![("Authorization".into(), format!("Bearer {token}"))];
        if let Some(h) = req["headers"].as_object() {
            for (k, v) in h {
                headers.push((k.clone(), substitute(v.as_str().unwrap(), &vars)));
            }
        }
        let body = match (req.get("body"), req.get("raw")) {
            (Some(b), _) => Some(substitute_json(b, &vars).to_string()),
            (None, Some(Value::String(r))) => Some(substitute(r, &vars)),
            _ => None,
        };
        if body.is_some()
            && !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            headers.push(("Content-Type".into(), "application/scim+json".into()));
        }
        let resp = request(&server.addr, method, &path, &headers, body.as_deref());
        let expect = &step["expect"];
        let status = expect["status"].as_u64().unwrap();
        assert_eq!(
            u64::from(resp.status),
            status,
            "{name}: {method} {path}\nresponse: {}",
            resp.body
        );
        let json: Value = if resp.body.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&resp.body)
                .unwrap_or_else(|e| panic!("{name}: body is not JSON ({e}): {}", resp.body))
        };
        if !resp.body.trim().is_empty() {
            assert_eq!(
                resp.header("content-type"),
                Some("application/scim+json"),
                "{name}"
            );
        }
        if let Some(eb) = expect.get("body") {
            let eb = substitute_json(eb, &vars);
            if let Err(e) = matches(&eb, Some(&json), "") {
                panic!("{name}: {method} {path}\n{e}\nresponse: {json}");
            }
        }
        if let Some(eh) = expect.get("headers").and_then(Value::as_object) {
            for (k, v) in eh {
                assert_eq!(resp.header(k), v.as_str(), "{name}: header {k}");
            }
        }
        if let Some(cap) = step.get("capture").and_then(Value::as_object) {
            for (var, pointer) in cap {
                let v = json
                    .pointer(pointer.as_str().unwrap())
                    .unwrap_or_else(|| panic!("{name}: nothing at {pointer} to capture in {json}"));
                let v = v
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string());
                vars.insert(var.clone(), v);
            }
        }
    }
}

const SUITES: &[&str] = &[
    "okta.json",
    "entra-id.json",
    "entra-id-aadoptscim062020.json",
    "onelogin.json",
    "jumpcloud.json",
];

#[test]
fn every_suite_file_has_a_test() {
    let mut files: Vec<String> = std::fs::read_dir(replay_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".json"))
        .collect();
    files.sort();
    let mut known: Vec<String> = SUITES.iter().map(|s| s.to_string()).collect();
    known.sort();
    assert_eq!(files, known);
}

#[test]
fn replay_okta() {
    run_suite("okta.json");
}

#[test]
fn replay_entra_id() {
    run_suite("entra-id.json");
}

#[test]
fn replay_entra_id_aadoptscim062020() {
    run_suite("entra-id-aadoptscim062020.json");
}

#[test]
fn replay_onelogin() {
    run_suite("onelogin.json");
}

#[test]
fn replay_jumpcloud() {
    run_suite("jumpcloud.json");
}

#[test]
fn subset_matching_rules() {
    use serde_json::json;
    assert!(matches(&json!({"a": 1}), Some(&json!({"a": 1, "b": 2})), "").is_ok());
    assert!(matches(&json!({"a": 2}), Some(&json!({"a": 1})), "").is_err());
    assert!(matches(&json!({"c": "$absent"}), Some(&json!({"a": 1})), "").is_ok());
    assert!(matches(&json!({"a": "$absent"}), Some(&json!({"a": 1})), "").is_err());
    assert!(matches(&json!({"a": "$any"}), Some(&json!({})), "").is_err());
    assert!(matches(&json!([{"v": 1}]), Some(&json!([{"v": 1}, {"v": 2}])), "").is_err());
    assert!(matches(&json!({"n": "$number"}), Some(&json!({"n": "1"})), "").is_err());
}
