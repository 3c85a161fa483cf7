//! The files the console's pages load, compiled into the binary: its own
//! stylesheet and script (`server/assets/`), and the vendored htmx and
//! Chart.js (`server/assets/vendor/`, with their licences and versions in
//! its README). No page loads anything from anywhere else.
//!
//! URLs carry a hash of the file's content (`/assets/console.css?v=1a2b…`),
//! so browsers may cache them for a year and still get a new file after an
//! upgrade.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// One served file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "console.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../assets/console.css"),
    },
    Asset {
        name: "console.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/console.js"),
    },
    Asset { name: "favicon.svg", content_type: "image/svg+xml", body: include_bytes!("../../assets/favicon.svg") },
    Asset {
        name: "htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/vendor/htmx-2.0.11.min.js"),
    },
    Asset {
        name: "chart.umd.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/vendor/chart-4.6.1.umd.min.js"),
    },
];

fn versions() -> &'static Vec<(&'static str, String)> {
    static VERSIONS: OnceLock<Vec<(&'static str, String)>> = OnceLock::new();
    VERSIONS.get_or_init(|| ASSETS.iter().map(|a| (a.name, hex::encode(&Sha256::digest(a.body)[..6]))).collect())
}

/// The URL of asset `name`, with its content hash.
pub fn url(name: &str) -> String {
    match versions().iter().find(|(n, _)| *n == name) {
        Some((_, v)) => format!("/assets/{name}?v={v}"),
        None => format!("/assets/{name}"),
    }
}

/// `GET /assets/{name}`: the file, cacheable for a year; 404 for any other name.
pub async fn serve(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(a.content_type)),
                (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
            ],
            a.body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}

/// `GET /favicon.ico`: browsers ask for it whatever the page's `<link rel=icon>` says.
pub async fn favicon() -> Response {
    serve(Path("favicon.svg".to_string())).await
}
