//! `POST /local-upload`: the folder store's stand-in for S3's browser-based upload. It checks what S3 checks (the
//! policy's signature and expiry, the key prefix, the exact fields, the size range), puts the chosen file's name in
//! place of `${filename}`, streams the file to disk, tells the runner (an ObjectCreated event), and answers as S3
//! does: a 303 to `success_action_redirect` with `bucket`, `key` and `etag` added, or a 201.

use std::collections::BTreeMap;
use std::io;

use axum::extract::{Multipart, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use hmac::Mac;

use super::folder_object_store::{UploadState, WriteError, decode_hex};
use super::post_policy::ReceivedPolicy;
use crate::ports::object_store::{FILENAME_PLACEHOLDER, ObjectStoreError};

/// The bucket name the redirect reports, as S3's would.
const LOCAL_BUCKET: &str = "local";

pub(super) async fn handle(State(state): State<UploadState>, mut form: Multipart) -> Response {
    let mut fields = BTreeMap::new();
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return refuse(StatusCode::BAD_REQUEST, "The form has no file field."),
            Err(_) => return refuse(StatusCode::BAD_REQUEST, "The upload could not be read."),
        };
        let name = field.name().unwrap_or_default().to_string();
        if name != "file" {
            match field.text().await {
                Ok(value) => fields.insert(name, value),
                Err(_) => return refuse(StatusCode::BAD_REQUEST, "The upload could not be read."),
            };
            continue;
        }
        // The file is the last field (S3's rule): everything it must satisfy is known by now.
        let received = match check(&state, &fields) {
            Ok(received) => received,
            Err(response) => return response,
        };
        let filename = field.file_name().map(safe_filename).unwrap_or_default();
        let key_template = fields.get("key").cloned().unwrap_or_default();
        if filename.is_empty() {
            // No file chosen: nothing to store (S3 would store an empty object, which the next page removes).
            return success(&fields, &key_template.replace(FILENAME_PLACEHOLDER, ""), "");
        }
        let key = key_template.replace(FILENAME_PLACEHOLDER, &filename);
        let limit = received.max_bytes.min(state.store.max_upload_bytes());
        let reader = tokio_util::io::StreamReader::new(field.map_err(io::Error::other));
        return match state.store.write_stream(&key, reader, limit).await {
            Ok(stored) => {
                let etag = stored.etag.clone();
                (state.on_stored)(stored);
                success(&fields, &key, &etag)
            }
            Err(WriteError::TooLarge) => refuse(
                StatusCode::BAD_REQUEST,
                &format!("The selected file must be smaller than {}.", megabytes(limit)),
            ),
            Err(WriteError::Body(_)) => refuse(StatusCode::BAD_REQUEST, "The upload was interrupted. Try again."),
            Err(WriteError::Store(ObjectStoreError::Invalid(_))) => {
                refuse(StatusCode::BAD_REQUEST, "The file name cannot be used.")
            }
            Err(error) => {
                // The key is left out: it carries the uploaded file's name.
                tracing::error!(
                    error = &error as &(dyn std::error::Error + 'static),
                    "form upload could not be stored"
                );
                refuse(StatusCode::INTERNAL_SERVER_ERROR, "The file could not be stored. Try again.")
            }
        };
    }
}

/// The policy's signature, expiry and conditions against the fields received.
fn check(state: &UploadState, fields: &BTreeMap<String, String>) -> Result<ReceivedPolicy, Response> {
    let forbidden = |message: &str| refuse(StatusCode::FORBIDDEN, message);
    let (Some(encoded), Some(signature)) = (fields.get("policy"), fields.get("x-mavis-signature")) else {
        return Err(forbidden("The upload form is not signed."));
    };
    let tag = decode_hex(signature).ok_or_else(|| forbidden("The upload form's signature is not valid."))?;
    state
        .store
        .policy_signature(encoded)
        .verify_slice(&tag)
        .map_err(|_| forbidden("The upload form's signature is not valid."))?;
    let received = ReceivedPolicy::decode(encoded).ok_or_else(|| forbidden("The upload form is not valid."))?;
    if chrono::Utc::now() > received.expiration {
        return Err(forbidden("This upload form has expired. Go back, reload the page and choose the file again."));
    }
    let prefix = received.key_prefix.as_deref().unwrap_or_default();
    if !fields.get("key").is_some_and(|key| key.starts_with(prefix)) {
        return Err(forbidden("The upload form is not valid."));
    }
    for (name, value) in &received.exact {
        if fields.get(name) != Some(value) {
            return Err(forbidden("The upload form is not valid."));
        }
    }
    Ok(received)
}

fn success(fields: &BTreeMap<String, String>, key: &str, etag: &str) -> Response {
    if let Some(url) = fields.get("success_action_redirect").and_then(|u| reqwest::Url::parse(u).ok()) {
        let mut url = url;
        url.query_pairs_mut().append_pair("bucket", LOCAL_BUCKET).append_pair("key", key).append_pair("etag", etag);
        return (StatusCode::SEE_OTHER, [(header::LOCATION, url.to_string())]).into_response();
    }
    let body = format!(
        "<PostResponse><Bucket>{LOCAL_BUCKET}</Bucket><Key>{}</Key><ETag>\"{etag}\"</ETag></PostResponse>",
        xml_escape(key)
    );
    (StatusCode::CREATED, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

/// A refusal a person reads in their browser (this is what they see without JavaScript), never a stack trace.
fn refuse(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Upload refused</title></head>\
         <body><h1>The file was not uploaded</h1><p>{}</p><p>Use your browser's back button to return to the \
         upload page.</p></body></html>",
        xml_escape(message)
    );
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

/// The chosen file's name, safe as the last segment of a key in a folder: letters, digits, `.`, `_` and `-` kept,
/// anything else `_` (S3 keeps the name as sent).
fn safe_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let safe: String = base
        .chars()
        .take(100)
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .collect();
    if safe.chars().all(|c| c == '.') { String::new() } else { safe }
}

fn megabytes(bytes: u64) -> String {
    format!("{}MB", bytes.div_ceil(1024 * 1024))
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_should_be_safe_segments() {
        assert_eq!(safe_filename("valid.csv"), "valid.csv");
        assert_eq!(safe_filename("C:\\Users\\me\\my file (1).csv"), "my_file__1_.csv");
        assert_eq!(safe_filename("../.."), "");
        assert_eq!(safe_filename(""), "");
        assert_eq!(megabytes(100 * 1024 * 1024), "100MB");
    }
}
