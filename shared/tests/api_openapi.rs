//! The OpenAPI document at /api/openapi.json describes exactly the router's /api routes and methods. The routes are
//! read from the router itself (its paths from its Debug form, its methods from the `Allow` header of a 405), so a
//! route added without documentation, or documented but not routed, fails here.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt;

mod common;

use common::TestApi;

/// Every `/api` path the router matches, as written in its route table (`{id}` placeholders).
fn routed_paths(app: &TestApi) -> BTreeSet<String> {
    let debug = format!("{:?}", app.router);
    debug.split('"').filter(|s| s.starts_with("/api/") || *s == "/api").map(str::to_string).collect()
}

/// The methods the router accepts on `path`, from the `Allow` header of a 405 to a method nothing here uses.
async fn routed_methods(app: &TestApi, path: &str) -> BTreeSet<String> {
    let uri = path.replace("{id}", "00000000-0000-0000-0000-000000000000");
    let request = Request::builder().method(Method::TRACE).uri(uri).body(Body::empty()).expect("request");
    let response = app.router.clone().oneshot(request).await.expect("response");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{path} is routed");
    let allow = response.headers().get(header::ALLOW).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    allow.split(',').map(|m| m.trim().to_ascii_lowercase()).filter(|m| !m.is_empty() && m != "head").collect()
}

pub fn documented(doc: &Value) -> Vec<(String, BTreeSet<String>)> {
    doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .map(|(path, item)| (path.clone(), item.as_object().expect("path item").keys().cloned().collect()))
        .collect()
}

#[tokio::test]
async fn the_document_should_describe_every_routed_path_and_method_and_nothing_else() {
    let app = TestApi::new(None);
    let (status, doc) = app.send(Method::GET, "/api/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");

    let routed = routed_paths(&app);
    assert!(routed.len() >= 12, "the router's paths were read: {routed:?}");
    let documented = documented(&doc);
    let documented_paths: BTreeSet<String> = documented.iter().map(|(p, _)| p.clone()).collect();
    assert_eq!(routed, documented_paths, "routed paths (left) and documented paths (right) differ");

    for (path, methods) in documented {
        assert_eq!(routed_methods(&app, &path).await, methods, "methods of {path}");
    }
}

#[tokio::test]
async fn every_operation_should_say_what_it_answers() {
    let doc = shared::web::openapi::document();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("item") {
            assert!(operation["summary"].is_string(), "{method} {path} has a summary");
            let responses = operation["responses"].as_object().expect("responses");
            assert!(responses.keys().any(|status| status.starts_with('2')), "{method} {path} documents its success");
            if path.contains("{id}") {
                assert!(operation["responses"]["404"].is_object(), "{method} {path} documents its 404");
            }
        }
    }
}
