//! Headers on every response: a Content-Security-Policy without inline script or style, no framing, no sniffing, no
//! referrer beyond this site, and `Cache-Control: no-store` on everything that does not set its own caching (every
//! page and API answer may hold personal data; only the hashed assets are cacheable).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;

use super::pages::layout_flash_cookie;

/// The policy, built once: `upload_origin` is where upload forms are sent when that is not this service (S3).
pub fn content_security_policy(upload_origin: Option<&str>) -> String {
    let upload = upload_origin.map(|o| format!(" {o}")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
         font-src 'self' https://assets.nhs.uk; connect-src 'self'{upload}; form-action 'self'{upload}; \
         frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    )
}

pub async fn headers(State(policy): State<Arc<HeaderValue>>, request: Request, next: Next) -> Response {
    let carried_flash = CookieJar::from_headers(request.headers()).get(layout_flash_cookie()).is_some();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, (*policy).clone());
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        headers.insert(header::EXPIRES, HeaderValue::from_static("0"));
    }
    // A flash is shown once: the page that shows it (anything but a redirect onwards) also clears it.
    if carried_flash && !response.status().is_redirection() {
        let clear = format!("{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax", layout_flash_cookie());
        if let Ok(value) = HeaderValue::from_str(&clear) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_should_allow_no_inline_code_and_only_the_upload_origin_besides_self() {
        let policy = content_security_policy(Some("https://bucket.s3.eu-west-2.amazonaws.com"));
        assert!(policy.contains("script-src 'self';") && policy.contains("style-src 'self';"));
        assert!(!policy.contains("unsafe-inline"));
        assert!(policy.contains("frame-ancestors 'none'"));
        assert!(policy.contains("form-action 'self' https://bucket.s3.eu-west-2.amazonaws.com;"));
        assert!(content_security_policy(None).contains("form-action 'self';"));
    }
}
