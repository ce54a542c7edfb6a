//! The console's static files, embedded in the binary and served with a
//! content hash in their names, so that they can be cached for a year: a
//! new build with a changed file has a new name.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::error::ConsoleError;

/// Where the static files are served.
const PREFIX: &str = "/console/static/";

struct Asset {
    /// The hashed file name, e.g. `console.3f2a….css`.
    file: String,
    content_type: &'static str,
    body: &'static [u8],
}

/// The embedded files: the stylesheet, htmx and the icon.
struct Assets {
    css: Asset,
    htmx: Asset,
    icon: Asset,
}

fn hashed(stem: &str, ext: &str, content_type: &'static str, body: &'static [u8]) -> Asset {
    let hash = hex::encode(&Sha256::digest(body)[..8]);
    Asset {
        file: format!("{stem}.{hash}.{ext}"),
        content_type,
        body,
    }
}

fn assets() -> &'static Assets {
    static ASSETS: OnceLock<Assets> = OnceLock::new();
    ASSETS.get_or_init(|| Assets {
        css: hashed(
            "console",
            "css",
            "text/css; charset=utf-8",
            include_bytes!("../../../static/console.css"),
        ),
        htmx: hashed(
            "htmx",
            "min.js",
            "text/javascript; charset=utf-8",
            include_bytes!("../../../static/htmx.min.js"),
        ),
        icon: hashed(
            "favicon",
            "svg",
            "image/svg+xml",
            include_bytes!("../../../static/favicon.svg"),
        ),
    })
}

/// The stylesheet's URL.
pub(super) fn css_url() -> String {
    format!("{PREFIX}{}", assets().css.file)
}

/// htmx's URL.
pub(super) fn htmx_url() -> String {
    format!("{PREFIX}{}", assets().htmx.file)
}

/// The icon's URL.
pub(super) fn icon_url() -> String {
    format!("{PREFIX}{}", assets().icon.file)
}

/// `GET /console/static/{file}`: only the current hashed names exist.
pub(super) async fn serve(Path(file): Path<String>) -> Response {
    let a = assets();
    let Some(asset) = [&a.css, &a.htmx, &a.icon]
        .into_iter()
        .find(|x| x.file == file)
    else {
        return ConsoleError::not_found("no such file").into_response();
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        asset.body,
    )
        .into_response()
}
