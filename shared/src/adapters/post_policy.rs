//! The POST policy document of a browser form upload, as S3 defines it: an expiry and conditions on the form's
//! fields, base64-encoded into the `policy` field and signed. The S3 adapter signs it with SigV4; the folder store
//! signs it with its own key and checks it on receipt, so both take the same form.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::ports::object_store::{FILENAME_PLACEHOLDER, PostPolicy, PostSuccess};

/// The form fields (besides the signature fields each store adds) and the conditions that fix them.
pub struct PolicyDocument {
    pub expiration: DateTime<Utc>,
    pub fields: Vec<(String, String)>,
    pub conditions: Vec<Value>,
}

impl PolicyDocument {
    /// `bucket` is named in the conditions when the store has one (S3).
    pub fn new(policy: &PostPolicy, bucket: Option<&str>, now: DateTime<Utc>) -> Self {
        let expiration = now + chrono::Duration::seconds(policy.expires_in.as_secs() as i64);
        let mut fields = vec![
            ("key".to_string(), format!("{}{FILENAME_PLACEHOLDER}", policy.key_prefix)),
            ("Content-Type".to_string(), policy.content_type.clone()),
        ];
        let mut conditions = vec![
            json!(["starts-with", "$key", policy.key_prefix]),
            json!({ "Content-Type": policy.content_type }),
            // 0, not 1: a form sent with no file reaches the page that says "Choose a file" (the empty object is
            // deleted there, and never imported).
            json!(["content-length-range", 0, policy.max_bytes]),
        ];
        match &policy.on_success {
            PostSuccess::Redirect(url) => {
                fields.push(("success_action_redirect".into(), url.clone()));
                conditions.push(json!({ "success_action_redirect": url }));
            }
            PostSuccess::Created => {
                fields.push(("success_action_status".into(), "201".into()));
                conditions.push(json!({ "success_action_status": "201" }));
            }
        }
        if let Some(bucket) = bucket {
            conditions.insert(0, json!({ "bucket": bucket }));
        }
        PolicyDocument { expiration, fields, conditions }
    }

    /// Adds a field and the condition that fixes it (the signature fields: algorithm, credential, date).
    pub fn fix(&mut self, name: &str, value: &str) {
        self.fields.push((name.to_string(), value.to_string()));
        self.conditions.push(json!({ name: value }));
    }

    /// The `policy` field: the document as base64 of its JSON.
    pub fn encoded(&self) -> String {
        let document = json!({
            "expiration": self.expiration.to_rfc3339_opts(SecondsFormat::Millis, true),
            "conditions": self.conditions,
        });
        STANDARD.encode(document.to_string())
    }
}

/// A policy as the folder store reads it back: what a received form must satisfy.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedPolicy {
    pub expiration: DateTime<Utc>,
    pub key_prefix: Option<String>,
    /// Fields whose value must be exactly this (Content-Type, success_action_*).
    pub exact: Vec<(String, String)>,
    pub max_bytes: u64,
}

impl ReceivedPolicy {
    /// None for anything that is not a policy document this module wrote.
    pub fn decode(encoded: &str) -> Option<Self> {
        let document: Value = serde_json::from_slice(&STANDARD.decode(encoded).ok()?).ok()?;
        let expiration = DateTime::parse_from_rfc3339(document.get("expiration")?.as_str()?).ok()?.with_timezone(&Utc);
        let mut received = ReceivedPolicy { expiration, key_prefix: None, exact: Vec::new(), max_bytes: 0 };
        for condition in document.get("conditions")?.as_array()? {
            match condition {
                Value::Array(items) => match items.first().and_then(Value::as_str)? {
                    "starts-with" if items.get(1)?.as_str()? == "$key" => {
                        received.key_prefix = Some(items.get(2)?.as_str()?.to_string());
                    }
                    "content-length-range" => received.max_bytes = items.get(2)?.as_u64()?,
                    _ => return None,
                },
                Value::Object(fields) => {
                    for (name, value) in fields {
                        received.exact.push((name.clone(), value.as_str()?.to_string()));
                    }
                }
                _ => return None,
            }
        }
        Some(received)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn policy(on_success: PostSuccess) -> PostPolicy {
        PostPolicy {
            key_prefix: "uploads/r1l/abc/".into(),
            content_type: "text/csv".into(),
            max_bytes: 100,
            expires_in: Duration::from_secs(900),
            on_success,
        }
    }

    #[test]
    fn a_document_should_read_back_as_the_policy_it_fixes() {
        let now: DateTime<Utc> = "2025-05-20T10:00:00Z".parse().unwrap();
        let mut document = PolicyDocument::new(&policy(PostSuccess::Redirect("http://x/imports/1".into())), None, now);
        document.fix("x-mavis-date", "20250520T100000Z");
        let received = ReceivedPolicy::decode(&document.encoded()).expect("decodes");
        assert_eq!(received.expiration, now + chrono::Duration::minutes(15));
        assert_eq!(received.key_prefix.as_deref(), Some("uploads/r1l/abc/"));
        assert_eq!(received.max_bytes, 100);
        assert!(received.exact.contains(&("success_action_redirect".into(), "http://x/imports/1".into())));
        assert!(received.exact.contains(&("Content-Type".into(), "text/csv".into())));
        assert_eq!(document.fields[0], ("key".into(), "uploads/r1l/abc/${filename}".into()));
        assert_eq!(ReceivedPolicy::decode("not base64!"), None);
    }
}
