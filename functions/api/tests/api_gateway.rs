//! The api function's Router as Lambda runs it: API Gateway HTTP API (payload 2.0) events through lambda_http's own
//! adapter, the one `lambda_http::run` uses. Sign-in round-trips its cookies through the event's `cookies` field and
//! the response's `cookies` array, redirects keep their status and `location`, pages come back as text and the
//! hashed assets as base64 binary.

use std::future::IntoFuture;
use std::sync::Arc;

use base64::Engine;
use lambda_http::request::LambdaRequest;
use lambda_http::{Context, LambdaEvent, Service};
use serde_json::{Value, json};
use shared::adapters::folder_object_store::FolderObjectStore;
use shared::adapters::sqlite_store::SqliteRecordStore;
use shared::ports::{ObjectStore, RecordStore};
use shared::web::auth::local_provider::LocalProvider;
use shared::web::{AppState, LocalIssuer, OidcClient, OidcSettings, WebSettings, app};

const HOST: &str = "abc123.execute-api.eu-west-2.amazonaws.com";

/// A payload-2.0 event as API Gateway sends it for `method path?query` with these cookies and form body.
fn event(method: &str, path_and_query: &str, cookies: &[String], form: Option<&str>) -> LambdaEvent<LambdaRequest> {
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let mut headers = json!({"host": HOST, "user-agent": "api-gateway-test"});
    if form.is_some() {
        headers["content-type"] = json!("application/x-www-form-urlencoded");
    }
    let payload = json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "cookies": cookies, "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123", "domainName": HOST, "domainPrefix": "abc123",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1",
                     "userAgent": "api-gateway-test"},
            "requestId": "request-1", "routeKey": "$default", "stage": "$default",
            "time": "04/Dec/2026:12:00:00 +0000", "timeEpoch": 1796385600000_i64
        },
        "body": form, "isBase64Encoded": false
    });
    let request: LambdaRequest = serde_json::from_value(payload).expect("an API Gateway v2 event");
    LambdaEvent::new(request, Context::default())
}

fn header<'a>(response: &'a Value, name: &str) -> &'a str {
    response["headers"][name].as_str().unwrap_or_default()
}

/// name=value of each cookie the response sets (API Gateway v2 puts them in `cookies`, not in the headers).
fn cookies_set(response: &Value) -> Vec<String> {
    response["cookies"]
        .as_array()
        .map(|all| all.iter().filter_map(|c| c.as_str()?.split(';').next().map(str::to_string)).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_should_sign_in_and_serve_through_api_gateway_events() {
    // The identity provider answers over real HTTP (discovery, token, JWKS), as CIS2 does for the function.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let provider_base = format!("http://{}", listener.local_addr().expect("address"));
    let keys = tempfile::tempdir().expect("tempdir");
    let objects = tempfile::tempdir().expect("tempdir");
    let reference = Arc::new(shared::reference::demo());
    let public_url = format!("https://{HOST}");
    let provider = Arc::new(LocalProvider::new(
        &provider_base,
        "mavis",
        Arc::new(LocalIssuer::load_or_create(keys.path()).expect("issuer")),
        reference.clone(),
    ));
    let oidc = OidcClient::new(OidcSettings {
        issuer: provider.issuer_url().into(),
        client_id: "mavis".into(),
        client_secret: None,
        // The local provider accepts one redirect address, on its own origin; the path is what comes back here.
        redirect_url: provider.redirect_url().into(),
    })
    .expect("oidc");
    tokio::spawn(axum::serve(listener, provider.clone().router()).into_future());
    let records: Arc<dyn RecordStore> = Arc::new(SqliteRecordStore::in_memory().expect("sqlite"));
    let folder: Arc<dyn ObjectStore> = Arc::new(FolderObjectStore::new(objects.path(), public_url.clone(), [7; 32]));
    let issuer = LocalIssuer::load_or_create(keys.path()).expect("issuer");
    let settings = WebSettings { public_url: public_url.clone(), ..WebSettings::default() };
    let state = AppState::new(records, folder, reference, issuer.authenticator(), settings).with_sign_in(oidc);
    let mut function = lambda_http::Adapter::from(app(state));
    macro_rules! call {
        ($event:expr) => {
            serde_json::to_value(function.call($event).await.expect("answered")).expect("a Lambda response")
        };
    }

    // Not signed in: a redirect to sign in, then to the provider, with the state cookie in `cookies`.
    let answer = call!(event("GET", "/dashboard", &[], None));
    assert_eq!(answer["statusCode"], 303, "{answer}");
    assert_eq!(header(&answer, "location"), "/sign-in?return_to=%2Fdashboard");
    let answer = call!(event("GET", "/sign-in?return_to=%2Fdashboard", &[], None));
    assert_eq!(answer["statusCode"], 303, "{answer}");
    let authorize = header(&answer, "location").to_string();
    assert!(authorize.starts_with(&provider_base), "{authorize}");
    let state_cookies = cookies_set(&answer);
    assert!(!state_cookies.is_empty(), "the sign-in state travels in the response's cookies: {answer}");
    assert!(answer["headers"].get("set-cookie").is_none(), "API Gateway v2 wants cookies outside the headers");
    let set = answer["cookies"][0].as_str().unwrap_or_default();
    assert!(set.contains("HttpOnly") && set.contains("Secure"), "on https the cookie is Secure: {set}");

    // The user signs in at the provider; its redirect comes back to the function as an event.
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(authorize.split_once('?').expect("query").1).expect("query");
    let mut fields = query.clone();
    fields.push(("email".into(), "nurse@example.com".into()));
    let authorize_path = authorize.split('?').next().expect("path");
    let signed = http.post(authorize_path).form(&fields).send().await.expect("provider answers");
    let callback = signed.headers()["location"].to_str().expect("location").to_string();
    let callback_path = callback.strip_prefix(&provider_base).expect("back to the function's callback");
    assert!(callback_path.starts_with("/auth/callback?"), "{callback}");
    let answer = call!(event("GET", callback_path, &state_cookies, None));
    assert_eq!(answer["statusCode"], 303, "{answer}");
    assert_eq!(header(&answer, "location"), "/dashboard");
    let session: Vec<String> = cookies_set(&answer).into_iter().filter(|c| c.starts_with("mavis_session=")).collect();
    assert_eq!(session.len(), 1, "a session cookie: {answer}");

    // Signed in: the page is text, with its headers.
    let answer = call!(event("GET", "/dashboard", &session, None));
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(answer["isBase64Encoded"], false);
    assert!(answer["body"].as_str().unwrap_or_default().contains("Manage vaccinations in schools (Mavis)"));
    assert!(header(&answer, "content-security-policy").contains("frame-ancestors 'none'"));
    assert_eq!(header(&answer, "cache-control"), "no-store");

    // A form POST through the event body: without the CSRF token it is refused.
    let answer = call!(event("POST", "/imports/new", &session, Some("type=child-records")));
    assert_eq!(answer["statusCode"], 403, "{answer}");

    // A hashed asset comes back as binary, byte for byte.
    let page = answer_body(&call!(event("GET", "/dashboard", &session, None)));
    let icon = page.split("href=\"/assets/").nth(1).and_then(|rest| rest.split('"').next()).expect("an asset link");
    let answer = call!(event("GET", &format!("/assets/{icon}"), &[], None));
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(answer["isBase64Encoded"], true, "{icon} is binary");
    let bytes = base64::engine::general_purpose::STANDARD.decode(answer["body"].as_str().expect("body")).expect("b64");
    assert!(!bytes.is_empty());
    assert!(header(&answer, "cache-control").contains("immutable"));
}

fn answer_body(answer: &Value) -> String {
    answer["body"].as_str().unwrap_or_default().to_string()
}
