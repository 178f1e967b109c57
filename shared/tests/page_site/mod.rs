//! The runner's shape for page tests: the Router with the folder store's upload routes and the local OpenID Connect
//! provider on one loopback origin, and a "browser" that keeps cookies, follows redirects and sends the upload form.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::future::IntoFuture;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::NaiveDate;
use shared::adapters::folder_object_store::{FolderObjectStore, ObjectStored, upload_router};
use shared::adapters::sqlite_store::SqliteRecordStore;
use shared::clock::Clock;
use shared::pipeline::{Handled, ObjectCreated, Pipeline, PipelineSettings};
use shared::ports::{ObjectStore, RecordStore};
use shared::web::auth::local_provider::LocalProvider;
use shared::web::{AppState, LocalIssuer, OidcClient, OidcSettings, WebSettings, app};
use tower::ServiceExt;

/// The runner's shape: the app, the folder store's upload routes, and the local provider, on one origin served on a
/// free loopback port (sign-in reads the provider's discovery document and token endpoint over real HTTP); the test's
/// browser sends its requests to the same Router.
pub struct Site {
    pub base: String,
    pub router: Router,
    pub records: Arc<dyn RecordStore>,
    pub folder: Arc<FolderObjectStore>,
    pub clock: Clock,
    pub stored: Arc<Mutex<Vec<ObjectStored>>>,
    today: NaiveDate,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

/// One browser: its cookies.
pub struct Browser<'a> {
    pub site: &'a Site,
    pub cookies: BTreeMap<String, String>,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn location(&self) -> String {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
    }

    /// The value of the first hidden field called `name`, as the browser would send it back.
    pub fn field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker).unwrap_or_else(|| panic!("no field {name}")) + marker.len();
        let end = start + self.body[start..].find('"').expect("closing quote");
        unescape(&self.body[start..end])
    }
}

impl Site {
    pub async fn new(today: NaiveDate) -> Self {
        Self::with_settings(today, |_| {}).await
    }

    /// A site whose web settings `adjust` changes (for example the upload forms' lifetime).
    pub async fn with_settings(today: NaiveDate, adjust: impl FnOnce(&mut WebSettings)) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let (keys, objects_dir) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
        let records: Arc<dyn RecordStore> = Arc::new(SqliteRecordStore::in_memory().expect("sqlite"));
        let folder = Arc::new(FolderObjectStore::new(objects_dir.path(), base.clone(), [9; 32]));
        let reference = Arc::new(shared::reference::demo());
        let clock = Clock::fixed(shared::clock::noon_in_london(today));
        let settings = WebSettings {
            today_override: Some(today),
            clock: clock.clone(),
            public_url: base.clone(),
            max_upload_bytes: 4096,
            ..WebSettings::default()
        };
        let mut settings = settings;
        adjust(&mut settings);
        let issuer = LocalIssuer::load_or_create(keys.path()).expect("issuer");
        let provider = Arc::new(LocalProvider::new(
            &base,
            "mavis",
            Arc::new(LocalIssuer::load_or_create(keys.path()).expect("same key")),
            reference.clone(),
        ));
        let oidc = OidcClient::new(OidcSettings {
            issuer: provider.issuer_url().into(),
            client_id: "mavis".into(),
            client_secret: None,
            redirect_url: provider.redirect_url().into(),
        })
        .expect("oidc");
        let state = AppState::new(
            records.clone(),
            folder.clone() as Arc<dyn ObjectStore>,
            reference,
            issuer.authenticator(),
            settings,
        )
        .with_sign_in(oidc);
        let folder_for_site = folder.clone();
        let stored = Arc::new(Mutex::new(Vec::new()));
        let sink = stored.clone();
        let router = app(state)
            .merge(upload_router(folder, Arc::new(move |s| sink.lock().expect("lock").push(s))))
            .merge(provider.router());
        tokio::spawn(axum::serve(listener, router.clone()).into_future());
        Site { base, router, records, folder: folder_for_site, clock, stored, today, _dirs: (keys, objects_dir) }
    }

    pub fn browser(&self) -> Browser<'_> {
        Browser { site: self, cookies: BTreeMap::new() }
    }
}

impl Browser<'_> {
    pub async fn send(&mut self, method: Method, uri: &str, content_type: Option<&str>, body: Vec<u8>) -> Answer {
        let path = uri.strip_prefix(self.site.base.as_str()).unwrap_or(uri);
        let mut request = Request::builder().method(method).uri(path);
        if !self.cookies.is_empty() {
            let cookie: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            request = request.header(header::COOKIE, cookie.join("; "));
        }
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let response =
            self.site.router.clone().oneshot(request.body(Body::from(body)).expect("request")).await.expect("ok");
        for value in response.headers().get_all(header::SET_COOKIE) {
            let pair = value.to_str().expect("ascii").split(';').next().unwrap_or_default();
            let (name, value) = pair.split_once('=').expect("name=value");
            if value.is_empty() || value.starts_with("\"\"") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.into(), value.into());
            }
        }
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 8 << 20).await.expect("body");
        Answer { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    pub async fn get(&mut self, uri: &str) -> Answer {
        self.send(Method::GET, uri, None, Vec::new()).await
    }

    pub async fn post_form(&mut self, uri: &str, fields: &[(&str, &str)]) -> Answer {
        let body = serde_urlencoded::to_string(fields).expect("form");
        self.send(Method::POST, uri, Some("application/x-www-form-urlencoded"), body.into_bytes()).await
    }

    /// Follows redirects from `answer` to the page they end on.
    pub async fn follow(&mut self, mut answer: Answer) -> Answer {
        while answer.status.is_redirection() {
            answer = self.get(&answer.location()).await;
        }
        answer
    }

    /// Signs in as `email` through the local provider's page, landing on `return_to`.
    pub async fn sign_in(&mut self, email: &str, return_to: &str) -> Answer {
        let start = self.get(&format!("/sign-in?return_to={}", urlencode(return_to))).await;
        assert_eq!(start.status, StatusCode::SEE_OTHER);
        let authorize = start.location();
        let page = self.get(&authorize).await;
        assert!(page.body.contains(&format!("value=\"{email}\"")), "the sign-in page lists {email}");
        let query: Vec<(String, String)> =
            serde_urlencoded::from_str(authorize.split_once('?').expect("query").1).expect("query");
        let mut fields: Vec<(&str, &str)> = query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        fields.push(("email", email));
        let answered = self.post_form("/oidc/authorize", &fields).await;
        self.follow(answered).await
    }
}

pub fn form_upload(page: &Answer, file_name: &str, file: &[u8]) -> (String, Vec<u8>) {
    let form = &page.body[page.body.find("data-module=\"app-upload\"").expect("the upload form")..];
    let mut body = Vec::new();
    let boundary = "----mavis-test-boundary";
    let mut rest = form;
    while let Some(at) = rest.find("<input type=\"hidden\" name=\"") {
        rest = &rest[at + "<input type=\"hidden\" name=\"".len()..];
        let name = &rest[..rest.find('"').expect("name end")];
        let value_at = rest.find("value=\"").expect("value") + "value=\"".len();
        let value = unescape(&rest[value_at..value_at + rest[value_at..].find('"').expect("value end")]);
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    body.extend(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n")
            .as_bytes(),
    );
    body.extend(file);
    body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub fn stored_import_path(key: &str) -> String {
    let id = key.split('/').nth(2).expect("uploads/{team}/{import}/{file}");
    format!("/imports/{id}")
}

pub fn urlencode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

pub fn unescape(text: &str) -> String {
    text.replace("&#38;", "&").replace("&#34;", "\"").replace("&#39;", "'").replace("&#60;", "<").replace("&#62;", ">")
}

/// A file of the reference service's test suite (`shared/fixtures/mavis/…`).
pub fn fixture(relative: &str) -> Vec<u8> {
    let path = format!("{}/../../shared/fixtures/mavis/{relative}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

impl Site {
    /// The import function of this site, on its clock.
    pub fn pipeline(&self) -> Pipeline {
        Pipeline {
            records: self.records.clone(),
            objects: self.folder.clone(),
            reference: Arc::new(shared::reference::demo()),
            settings: PipelineSettings {
                today_override: Some(self.today),
                clock: self.clock.clone(),
                ..PipelineSettings::default()
            },
        }
    }
}

impl Browser<'_> {
    /// Uploads `file` on the upload page at `upload_path` (signed in already), lets the import function process it,
    /// and returns the import's page path.
    pub async fn import(&mut self, upload_path: &str, file_name: &str, file: &[u8]) -> String {
        let page = self.get(upload_path).await;
        assert_eq!(page.status, StatusCode::OK, "{upload_path}");
        let (content_type, body) = form_upload(&page, file_name, file);
        let answered = self.send(Method::POST, "/local-upload", Some(&content_type), body).await;
        assert_eq!(answered.status, StatusCode::SEE_OTHER, "{}", answered.body);
        self.follow(answered).await;
        let stored = self.site.stored.lock().expect("lock").last().cloned().expect("stored");
        let event = ObjectCreated {
            bucket: "local".into(),
            key: stored.key.clone(),
            etag: stored.etag,
            version_id: None,
            size: stored.size,
        };
        let handled = self.site.pipeline().handle_object_created(&event).await.expect("imported");
        assert!(matches!(handled, Handled::Processed { .. }), "{handled:?}");
        self.site.clock.advance(chrono::Duration::minutes(1));
        stored_import_path(&stored.key)
    }
}
