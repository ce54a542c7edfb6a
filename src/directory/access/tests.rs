#![allow(clippy::unwrap_used, clippy::expect_used)]
use serde_json::{json, Map, Value};

use super::*;
use crate::directory::access::UserFacts;
use crate::store::GroupFacts;
use scim_protocol::schema::{URN_ACCESS, URN_ENTERPRISE};

fn policy(rules: &str) -> Policy {
    let cfg: crate::config::Config = toml::from_str(rules).unwrap();
    let p = cfg.policy();
    p.validate().unwrap();
    p
}

fn facts<'a>(
    data: &'a Map<String, Value>,
    local: &'a Value,
    groups: &'a [GroupFacts],
) -> UserFacts<'a> {
    UserFacts {
        data,
        local,
        groups,
        claims: None,
    }
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn group(name: &str) -> GroupFacts {
    GroupFacts {
        display_name: name.into(),
        external_id: None,
    }
}

#[test]
fn defaults_without_rules() {
    let p = Policy::default();
    let data = obj(json!({"userName": "a"}));
    let a = p.compute("t", &facts(&data, &json!({}), &[]));
    assert_eq!(
        (a.user_type.as_str(), a.role.as_str(), a.rank),
        ("user", "member", 20)
    );
    assert_eq!(a.plan, None);
    assert_eq!(a.explain["role"]["source"], "default");
}

#[test]
fn last_matching_rule_wins_and_viewers_are_capped() {
    let p = policy(
        r#"
[[role_mapping]]
match = { group = "A" }
set = { role = "admin" }
[[role_mapping]]
match = { group = "B" }
set = { role = "power-user" }
[[role_mapping]]
match = { role = "v" }
set = { type = "viewer" }
"#,
    );
    let data = obj(json!({"userName": "a"}));
    let both = [group("a"), group("B")];
    let a = p.compute("t", &facts(&data, &json!({}), &both));
    assert_eq!(a.role, "power-user");
    assert_eq!(a.explain["role"]["rule"], "rule 2");
    let viewer = obj(json!({"userName": "a", "roles": [{"value": "V"}]}));
    let a = p.compute("t", &facts(&viewer, &json!({}), &both));
    assert_eq!(
        (a.user_type.as_str(), a.role.as_str()),
        ("viewer", "read-only")
    );
    assert!(a.explain["projects"].get("*").is_none());
}

#[test]
fn plans_follow_the_catalog_order_and_personal_wins() {
    let p = policy(
        r#"
plans = ["basic", "team", "enterprise"]
[[role_mapping]]
match = { group = "Data" }
set = { plan = "enterprise" }
[[role_mapping]]
match = { group = "Eng" }
set = { plan = "team" }
"#,
    );
    let data = obj(json!({"userName": "a"}));
    let g = [group("Data"), group("Eng")];
    assert_eq!(
        p.compute("t", &facts(&data, &json!({}), &g))
            .plan
            .as_deref(),
        Some("enterprise")
    );
    let local = json!({"plan": "basic"});
    assert_eq!(
        p.compute("t", &facts(&data, &local, &g)).plan.as_deref(),
        Some("basic")
    );
}

#[test]
fn rules_match_on_every_condition_and_enterprise_attributes() {
    let p = policy(
        r#"
[[role_mapping]]
match = { attribute = "department", equals = "Finance", user_type = "Employee" }
set = { role = "admin" }
"#,
    );
    let yes = obj(
        json!({"userName": "a", "userType": "employee", URN_ENTERPRISE: {"department": "FINANCE"}}),
    );
    let no = obj(
        json!({"userName": "a", "userType": "contractor", URN_ENTERPRISE: {"department": "Finance"}}),
    );
    assert_eq!(p.compute("t", &facts(&yes, &json!({}), &[])).role, "admin");
    assert_eq!(p.compute("t", &facts(&no, &json!({}), &[])).role, "member");
}

#[test]
fn validation_refuses_unknown_roles_plans_and_empty_rules() {
    for bad in [
        "[[role_mapping]]\nmatch = { role = \"x\" }\nset = { role = \"wizard\" }\n",
        "plans = [\"a\"]\n[[role_mapping]]\nmatch = { role = \"x\" }\nset = { plan = \"b\" }\n",
        "[[role_mapping]]\nmatch = {}\nset = { role = \"admin\" }\n",
        "[[role_mapping]]\nmatch = { role = \"x\" }\nset = {}\n",
        "[[role_mapping]]\nmatch = { attribute = \"department\" }\nset = { role = \"admin\" }\n",
        "[[roles]]\nname = \"admin\"\nrank = 41\n",
        "[[role_mapping]]\nmatch = { role = \"x\" }\nset = { projects = { p = \"boss\" } }\n",
    ] {
        let cfg: crate::config::Config = toml::from_str(bad).unwrap();
        assert!(cfg.policy().validate().is_err(), "{bad}");
    }
}

/// The explanation text is stored in the `access` column; pin it byte
/// for byte for every kind of source, so a refactor cannot make every
/// user look changed after an upgrade.
#[test]
fn explanations_are_stored_byte_for_byte() {
    let p = policy(
        r#"
plans = ["basic", "team", "enterprise"]
[tenants.t]
super_admins = ["boss"]
default_plan = "basic"
[[role_mapping]]
name = "eng"
match = { group = "Eng" }
set = { role = "admin", plan = "team", projects = { alpha = "owner", beta = "operator" } }
[[role_mapping]]
match = { group_external_id = "x-1" }
set = { plan = "enterprise", projects = { "*" = "none" } }
[[role_mapping]]
match = { role = "viewer-key", entitlement = "e" }
set = { type = "viewer" }
[[role_mapping]]
match = { attribute = "department", equals = "Ops" }
set = { type = "user", role = "power-user" }
"#,
    );
    let eng = [group("Eng")];
    let ext = [GroupFacts {
        display_name: "Other".into(),
        external_id: Some("X-1".into()),
    }];
    let cases: Vec<(Map<String, Value>, Value, &[GroupFacts])> = vec![
        (obj(json!({"userName": "BOSS"})), json!({}), &[]),
        (obj(json!({"userName": "a"})), json!({}), &[]),
        (obj(json!({"userName": "a"})), json!({}), &eng),
        (obj(json!({"userName": "a"})), json!({}), &ext),
        (
            obj(
                json!({"userName": "a", "roles": [{"value": "viewer-key"}], "entitlements": [{"value": "E"}]}),
            ),
            json!({}),
            &eng,
        ),
        (
            obj(json!({"userName": "a", URN_ENTERPRISE: {"department": "ops"}})),
            json!({"type": "viewer", "role": "admin", "plan": "enterprise", "projects": {"gamma": "Editor", "alpha": "none", "bad": "boss"}}),
            &eng,
        ),
        (
            obj(
                json!({"userName": "a", URN_ACCESS: {"type": "Viewer", "role": "wizard", "plan": "custom"}}),
            ),
            json!({}),
            &eng,
        ),
        (
            obj(json!({"userName": "a", URN_ACCESS: {"type": "user", "role": "Admin"}})),
            json!({"projects": {"zeta": "read-only"}}),
            &[],
        ),
    ];
    let got: Vec<String> = cases
        .iter()
        .map(|(d, l, g)| ("t", d, l, g))
        .chain(std::iter::once((
            "other",
            &cases[1].0,
            &cases[1].1,
            &cases[1].2,
        )))
        .map(|(t, d, l, g)| {
            let a = p.compute(t, &facts(d, l, g));
            format!(
                "{}|{}|{}|{:?}|{}",
                a.user_type, a.role, a.rank, a.plan, a.explain
            )
        })
        .collect();
    let want = GOLDEN.trim().lines().collect::<Vec<_>>();
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "case {i}");
    }
    assert_eq!(got.len(), want.len(), "{}", got.join("\n"));
}

const GOLDEN: &str = r#"
user|super-admin|50|Some("basic")|{"type":{"value":"user","source":"bootstrap","because":"listed in the tenant's super_admins"},"role":{"value":"super-admin","source":"bootstrap","because":"listed in the tenant's super_admins"},"plan":{"value":"basic","source":"default"},"projects":{"*":{"role":"editor","includes":["editor","operator","read-only"],"source":"role","because":"\"super-admin\" is power-user or above: editor of every project unless a project says none"}},"matchedRules":[]}
user|member|20|Some("basic")|{"type":{"value":"user","source":"default"},"role":{"value":"member","source":"default"},"plan":{"value":"basic","source":"default"},"projects":{},"matchedRules":[]}
user|admin|40|Some("team")|{"type":{"value":"user","source":"default"},"role":{"value":"admin","source":"rule","rule":"eng","because":"member of group \"Eng\"","group":"Eng"},"plan":{"value":"team","source":"rule","rule":"eng","because":"member of group \"Eng\"","group":"Eng"},"projects":{"alpha":{"role":"owner","includes":["owner","editor","operator","read-only"],"source":"rule","rule":"eng","because":"member of group \"Eng\"","group":"Eng"},"beta":{"role":"operator","includes":["operator","read-only"],"source":"rule","rule":"eng","because":"member of group \"Eng\"","group":"Eng"},"*":{"role":"editor","includes":["editor","operator","read-only"],"source":"role","because":"\"admin\" is power-user or above: editor of every project unless a project says none"}},"matchedRules":[{"rule":"eng","because":"member of group \"Eng\""}]}
user|member|20|Some("enterprise")|{"type":{"value":"user","source":"default"},"role":{"value":"member","source":"default"},"plan":{"value":"enterprise","source":"rule","rule":"rule 2","because":"member of the group with externalId \"x-1\"","group":"x-1"},"projects":{"*":{"role":"none","includes":[],"source":"rule","rule":"rule 2","because":"member of the group with externalId \"x-1\"","group":"x-1"}},"matchedRules":[{"rule":"rule 2","because":"member of the group with externalId \"x-1\""}]}
viewer|read-only|10|Some("team")|{"type":{"value":"viewer","source":"rule","rule":"rule 3","because":"roles has \"viewer-key\" and entitlements has \"e\""},"role":{"value":"read-only","source":"viewer","because":"viewers hold no role; \"admin\" (rule) does not apply"},"plan":{"value":"team","source":"rule","rule":"eng","because":"member of group \"Eng\"","group":"Eng"},"projects":{"alpha":{"role":"read-only","includes":["read-only"],"source":"viewer","because":"viewers are read-only in projects; \"owner\" does not apply"},"beta":{"role":"read-only","includes":["read-only"],"source":"viewer","because":"viewers are read-only in projects; \"operator\" does not apply"}},"matchedRules":[{"rule":"eng","because":"member of group \"Eng\""},{"rule":"rule 3","because":"roles has \"viewer-key\" and entitlements has \"e\""}]}
viewer|read-only|10|Some("enterprise")|{"type":{"value":"viewer","source":"local"},"role":{"value":"read-only","source":"viewer","because":"viewers hold no role; \"admin\" (local) does not apply"},"plan":{"value":"enterprise","source":"local","because":"personal plan"},"projects":{"alpha":{"role":"none","includes":[],"source":"local"},"beta":{"role":"read-only","includes":["read-only"],"source":"viewer","because":"viewers are read-only in projects; \"operator\" does not apply"},"gamma":{"role":"read-only","includes":["read-only"],"source":"viewer","because":"viewers are read-only in projects; \"editor\" does not apply"}},"matchedRules":[{"rule":"eng","because":"member of group \"Eng\""},{"rule":"rule 4","because":"department is \"Ops\""}]}
viewer|read-only|10|Some("custom")|{"type":{"value":"viewer","source":"scim"},"role":{"value":"read-only","source":"viewer","because":"viewers hold no role; \"admin\" (rule) does not apply"},"plan":{"value":"custom","source":"scim","because":"personal plan"},"projects":{"alpha":{"role":"read-only","includes":["read-only"],"source":"viewer","because":"viewers are read-only in projects; \"owner\" does not apply"},"beta":{"role":"read-only","includes":["read-only"],"source":"viewer","because":"viewers are read-only in projects; \"operator\" does not apply"}},"matchedRules":[{"rule":"eng","because":"member of group \"Eng\""}],"ignored":["role \"wizard\" from the identity provider is not in the catalog"]}
user|admin|40|Some("basic")|{"type":{"value":"user","source":"scim"},"role":{"value":"admin","source":"scim"},"plan":{"value":"basic","source":"default"},"projects":{"zeta":{"role":"read-only","includes":["read-only"],"source":"local"},"*":{"role":"editor","includes":["editor","operator","read-only"],"source":"role","because":"\"admin\" is power-user or above: editor of every project unless a project says none"}},"matchedRules":[]}
user|member|20|None|{"type":{"value":"user","source":"default"},"role":{"value":"member","source":"default"},"plan":{"value":null,"source":"none"},"projects":{},"matchedRules":[]}
"#;
