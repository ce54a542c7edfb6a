//! ServiceProviderConfig (RFC 7643 §5): announces only what works.

use serde_json::{json, Value};

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

pub fn service_provider_config(base_url: &str, caps: &Capabilities) -> Value {
    json!({
        "schemas": [URN_SPC],
        "documentationUri": "https://github.com/rollcall-scim/rollcall/blob/main/README.md",
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
