//! The benchmark ceiling: a bare axum handler answering every
//! `GET /scim/v2/Users` with the same ListResponse a Rollcall lookup returns
//! (one user), with no database, filter, authentication or logging. What a
//! load generator gets from it on a machine is the most any SCIM server in
//! Rust on axum could serve there.
//!
//!     cargo run --release --example ceiling -- 127.0.0.1:18090

use axum::http::header;
use axum::routing::get;
use axum::Router;

const BODY: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":1,"startIndex":1,"itemsPerPage":1,"Resources":[{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"1b2c9a4e-5a0f-4c53-9e77-0d1c2b3a4f50","userName":"u0000001","emails":[{"value":"u0000001@example.com","type":"work","primary":true}],"active":true,"meta":{"resourceType":"User","created":"2026-11-23T12:00:00Z","lastModified":"2026-11-23T12:00:00Z","location":"http://127.0.0.1:18181/scim/v2/Users/1b2c9a4e-5a0f-4c53-9e77-0d1c2b3a4f50","version":"W/\"1\""}}]}"#;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18090".to_string());
    let app = Router::new().route(
        "/scim/v2/Users",
        get(|| async { ([(header::CONTENT_TYPE, "application/scim+json")], BODY) }),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("ceiling listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await
}
