//! NHS.UK frontend and our own stylesheet and scripts, embedded at build time (shared/build.rs) under names that
//! change with their content, so they are cached for a year and never stale.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// One embedded file.
pub struct Asset {
    /// What templates ask for: "nhsuk-frontend.min.css".
    pub name: &'static str,
    /// Where it is served: "/assets/nhsuk-frontend-1a2b3c4d5e6f.min.css".
    pub path: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The served path of an asset by its plain name. Panics on a name that is not embedded: templates name assets
/// literally, and a typo should fail the first test that renders the page, not ship a broken link.
pub fn path(name: &str) -> &'static str {
    ASSETS.iter().find(|a| a.name == name).map(|a| a.path).unwrap_or_else(|| panic!("no embedded asset {name}"))
}

/// `GET /assets/{file}`: the hashed names only, cached for a year as immutable.
pub async fn serve(Path(file): Path<String>) -> Response {
    let wanted = format!("/assets/{file}");
    match ASSETS.iter().find(|a| a.path == wanted) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
                (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
            ],
            asset.bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, [(header::CACHE_CONTROL, "no-store")], "Not found").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_should_have_a_hashed_name_and_the_stylesheet_should_point_at_hashed_images() {
        for asset in ASSETS {
            assert_ne!(asset.path, format!("/assets/{}", asset.name), "{} is not content-hashed", asset.name);
            assert!(!asset.bytes.is_empty(), "{} is empty", asset.name);
        }
        let css = std::str::from_utf8(ASSETS.iter().find(|a| a.name == "nhsuk-frontend.min.css").unwrap().bytes);
        let css = css.expect("utf-8");
        assert!(!css.contains("/assets/images/"), "the stylesheet still names unhashed images");
        assert!(css.contains(path("nhsuk-icon-cross.svg")));
        let app = std::str::from_utf8(ASSETS.iter().find(|a| a.name == "app.mjs").unwrap().bytes).expect("utf-8");
        assert!(app.contains(path("nhsuk-frontend.min.js")), "app.mjs imports the hashed frontend");
    }
}
