//! ServiceProviderConfig (RFC 7643 §5): announces only what works.

use serde_json::{json, Map, Value};

use super::schema::URN_SPC;

/// Server capabilities that vary with configuration.
#[derive(Debug, Clone, Copy)]
pub struct Capabilities {
    pub max_payload_size: usize,
    pub max_results: i64,
    pub default_page_size: i64,
    pub bulk_max_operations: usize,
    pub bulk_max_payload_size: usize,
    pub bulk_supported: bool,
}

/// ServiceProviderConfig without a `documentationUri`.
pub fn service_provider_config(base_url: &str, caps: &Capabilities) -> Value {
    service_provider_config_documented(base_url, caps, None)
}

/// ServiceProviderConfig; `documentationUri` (optional, RFC 7643 §5) comes
/// second, after `schemas`, and only when `documentation_uri` is set.
pub fn service_provider_config_documented(
    base_url: &str,
    caps: &Capabilities,
    documentation_uri: Option<&str>,
) -> Value {
    let mut spc = Map::new();
    spc.insert("schemas".into(), json!([URN_SPC]));
    if let Some(uri) = documentation_uri {
        spc.insert("documentationUri".into(), uri.into());
    }
    if let Value::Object(rest) = capabilities(base_url, caps) {
        spc.extend(rest);
    }
    Value::Object(spc)
}

/// Everything after `schemas` and `documentationUri`.
fn capabilities(base_url: &str, caps: &Capabilities) -> Value {
    json!({
        "patch": { "supported": true },
        "bulk": {
            "supported": caps.bulk_supported,
            "maxOperations": if caps.bulk_supported { caps.bulk_max_operations } else { 0 },
            "maxPayloadSize": if caps.bulk_supported { caps.bulk_max_payload_size } else { 0 },
        },
        "filter": { "supported": true, "maxResults": caps.max_results },
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": caps.default_page_size,
            "maxPageSize": caps.max_results,
        },
        "changePassword": { "supported": false },
        "sort": { "supported": true },
        "etag": { "supported": true },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with a bearer token issued by `rollcall token create`.",
            "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base_url}/ServiceProviderConfig"),
        }
    })
}
