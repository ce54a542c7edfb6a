//! What the request log learns of a SCIM request at the door: who made it
//! (filled in by [`super::auth::require_token`]), what of its body the
//! handler read (copied as it is read, up to 64 KiB: the handler's own
//! limits and errors are untouched), and the answer's status and error.
//! The directory decides what is kept (`directory/request_log.rs`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header;
use axum::response::Response;
use http_body_util::BodyExt;

use super::error::ErrorLog;
use super::AppState;
use crate::directory::request_log::{NotedRequest, BODY_CAPTURE_BYTES};
use crate::store::Tenant;

/// Who a request is attributed to.
#[derive(Debug, Clone)]
pub struct Attribution {
    pub tenant: Tenant,
    pub credential: String,
    pub refused: bool,
}

/// Where the authentication step leaves the attribution (a request
/// extension).
#[derive(Debug, Clone, Default)]
pub struct Slot(Arc<Mutex<Option<Attribution>>>);

impl Slot {
    pub fn set(&self, a: Attribution) {
        if let Ok(mut s) = self.0.lock() {
            *s = Some(a);
        }
    }

    fn take(&self) -> Option<Attribution> {
        self.0.lock().ok().and_then(|mut s| s.take())
    }
}

#[derive(Default)]
struct Copied {
    bytes: Vec<u8>,
    /// Some of the body was past the copy's limit.
    over: bool,
}

/// A SCIM request being logged.
pub struct Capture {
    slot: Slot,
    body: Arc<Mutex<Copied>>,
    method: String,
    user_agent: Option<String>,
    request_id: Option<String>,
    path: String,
}

impl Capture {
    /// For a request under `/scim/v2`: a slot for its attribution, and its
    /// body copied as it is read.
    pub fn start(state: &AppState, req: &mut Request) -> Option<Capture> {
        if !state.directory.config.request_log.enabled || !req.uri().path().starts_with("/scim/v2")
        {
            return None;
        }
        let slot = Slot::default();
        req.extensions_mut().insert(slot.clone());
        let copied = Arc::new(Mutex::new(Copied::default()));
        let sink = copied.clone();
        let body = std::mem::take(req.body_mut());
        let tee = body.map_frame(move |frame| {
            if let (Some(data), Ok(mut c)) = (frame.data_ref(), sink.lock()) {
                if c.bytes.len() + data.len() <= BODY_CAPTURE_BYTES {
                    c.bytes.extend_from_slice(data);
                } else {
                    c.over = true;
                }
            }
            frame
        });
        *req.body_mut() = Body::new(tee);
        let user_agent = req
            .headers()
            .get(header::USER_AGENT)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let request_id = req
            .headers()
            .get(super::REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Some(Capture {
            slot,
            body: copied,
            method: req.method().as_str().to_string(),
            user_agent,
            request_id,
            path: req.uri().path().chars().take(200).collect(),
        })
    }

    /// Note the answer, if the request could be attributed to a tenant.
    pub fn finish(self, state: &AppState, route: &str, resp: &Response, took: Duration) {
        let Some(who) = self.slot.take() else {
            return;
        };
        let error = resp.extensions().get::<ErrorLog>();
        let body = self
            .body
            .lock()
            .ok()
            .map(|mut c| (std::mem::take(&mut c.bytes), !c.over));
        let route = if route == "unmatched" {
            format!("unmatched: {}", self.path)
        } else {
            route.to_string()
        };
        state.directory.note_request(NotedRequest {
            tenant: who.tenant,
            credential: Some(who.credential),
            refused: who.refused,
            method: self.method,
            route,
            status: resp.status().as_u16(),
            latency_ms: i64::try_from(took.as_millis()).unwrap_or(i64::MAX),
            user_agent: self.user_agent,
            code: error.and_then(|e| e.code).map(str::to_string),
            detail: error.map(|e| e.detail.clone()),
            body,
            request_id: self.request_id,
        });
    }
}
