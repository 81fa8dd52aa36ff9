//! The console's static files, embedded in the binary (no CDN; it works offline): htmx 2.0.11
//! with its licence, our scripts (the card form's apart) and one style sheet. Each is served under a name with its
//! content's hash, so browsers may keep it for a year and still never run a stale one.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const FILES: [Asset; 6] = [
    Asset {
        name: "htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../static/htmx-2.0.11.min.js"),
    },
    Asset {
        name: "htmx.LICENSE",
        content_type: "text/plain; charset=utf-8",
        bytes: include_bytes!("../../static/htmx.LICENSE"),
    },
    Asset {
        name: "console.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../static/console.js"),
    },
    Asset {
        name: "payments.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../static/payments.js"),
    },
    Asset {
        name: "console.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../static/console.css"),
    },
    Asset { name: "favicon.svg", content_type: "image/svg+xml", bytes: include_bytes!("../../static/favicon.svg") },
];

/// Each file's hashed name (`console.3f2a9c1b.css`), by its plain name.
static HASHED: LazyLock<Vec<(&'static str, String)>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|asset| {
            let digest = Sha256::digest(asset.bytes);
            let short: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
            let (stem, ext) = asset.name.rsplit_once('.').unwrap_or((asset.name, ""));
            (asset.name, format!("{stem}.{short}.{ext}"))
        })
        .collect()
});

/// The URL of a static file by its plain name.
pub fn url(name: &str) -> String {
    let hashed = HASHED.iter().find(|(plain, _)| *plain == name).map(|(_, h)| h.as_str()).unwrap_or(name);
    format!("/static/{hashed}")
}

/// `GET /static/{name}`: by hashed name (cached for a year) or plain name (revalidated).
pub(crate) async fn serve(Path(name): Path<String>) -> Response {
    let found = HASHED.iter().zip(FILES.iter()).find(|((plain, hashed), _)| *hashed == name || *plain == name);
    let Some(((_, hashed), asset)) = found else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let cache = if *hashed == name { "public, max-age=31536000, immutable" } else { "no-cache" };
    let mut response = asset.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}
