//! ObjectCreated notifications, as S3 sends them (directly, or wrapped in SQS messages), and where an object key
//! routes: `uploads/{team}/{import-id}/{file}` (an import created through the API) or `drops/{team-ods}/{file}` (a
//! CHIS bulk drop). Parsed leniently: emulators omit fields that AWS sends, and we need only bucket, key and ETag.

use percent_encoding::percent_decode_str;
use serde::Deserialize;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectCreated {
    pub bucket: String,
    /// URL-decoded key.
    pub key: String,
    pub etag: String,
    /// S3's version id, when the bucket keeps versions.
    pub version_id: Option<String>,
    pub size: u64,
}

impl ObjectCreated {
    /// The version of the object this event announces.
    pub fn version(&self) -> crate::ports::ObjectVersion {
        crate::ports::ObjectVersion { etag: self.etag.clone(), version_id: self.version_id.clone() }
    }
}

#[derive(Deserialize)]
struct Notification {
    #[serde(rename = "Records", default)]
    records: Vec<Record>,
}

#[derive(Deserialize)]
struct Record {
    #[serde(rename = "eventName", default)]
    event_name: String,
    s3: S3Entity,
}

#[derive(Deserialize)]
struct S3Entity {
    bucket: Bucket,
    object: Object,
}

#[derive(Deserialize)]
struct Bucket {
    name: String,
}

#[derive(Deserialize)]
struct Object {
    key: String,
    #[serde(rename = "eTag", default)]
    etag: Option<String>,
    #[serde(default)]
    size: Option<u64>,
    #[serde(rename = "versionId", default)]
    version_id: Option<String>,
    #[serde(default)]
    sequencer: Option<String>,
}

/// The ObjectCreated records of an S3 notification. A test event (`s3:TestEvent`, sent when notifications are
/// configured) or anything else without records gives an empty list.
pub fn parse_notification(json: &str) -> Result<Vec<ObjectCreated>, serde_json::Error> {
    let notification: Notification = serde_json::from_str(json)?;
    Ok(notification
        .records
        .into_iter()
        .filter(|r| r.event_name.is_empty() || r.event_name.starts_with("ObjectCreated"))
        .map(|r| ObjectCreated {
            bucket: r.s3.bucket.name,
            key: decode_key(&r.s3.object.key),
            etag: r.s3.object.etag.or(r.s3.object.sequencer).unwrap_or_default().trim_matches('"').to_string(),
            version_id: r.s3.object.version_id.filter(|v| !v.is_empty() && v != "null"),
            size: r.s3.object.size.unwrap_or_default(),
        })
        .collect())
}

/// S3 event keys are URL-encoded, with spaces sometimes as '+' (moto) and sometimes as %20 (AWS, LocalStack).
pub fn decode_key(raw: &str) -> String {
    let plus_as_space = raw.replace('+', " ");
    percent_decode_str(&plus_as_space).decode_utf8_lossy().into_owned()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRoute {
    Upload { team_id: String, import_id: Uuid },
    Drop { ods_code: String, filename: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRejection {
    #[error("the key is outside the uploads/ and drops/ prefixes")]
    UnknownPrefix,
    #[error("an upload key must be uploads/{{team}}/{{import-id}}/{{file}}")]
    MalformedUpload,
    #[error("a drop key must be drops/{{team-ods}}/{{file}}")]
    MalformedDrop,
}

pub fn route(key: &str) -> Result<KeyRoute, KeyRejection> {
    let parts: Vec<&str> = key.split('/').collect();
    match parts.as_slice() {
        ["uploads", team, import, file, ..] if !team.is_empty() && !file.is_empty() => {
            let import_id = import.parse().map_err(|_| KeyRejection::MalformedUpload)?;
            Ok(KeyRoute::Upload { team_id: team.to_string(), import_id })
        }
        ["uploads", ..] => Err(KeyRejection::MalformedUpload),
        ["drops", ods, rest @ ..] if !ods.is_empty() && !rest.is_empty() && !rest.last().unwrap_or(&"").is_empty() => {
            Ok(KeyRoute::Drop { ods_code: ods.to_string(), filename: rest.join("/") })
        }
        ["drops", ..] => Err(KeyRejection::MalformedDrop),
        _ => Err(KeyRejection::UnknownPrefix),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_key_uses_plus_or_percent_for_spaces_should_decode_both() {
        assert_eq!(decode_key("drops/R1L/my+file%20one.csv"), "drops/R1L/my file one.csv");
        assert_eq!(decode_key("drops/R1L/a%2Bb.csv"), "drops/R1L/a+b.csv");
    }

    #[test]
    fn when_moto_event_lacks_user_identity_should_still_parse() {
        let json = r#"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},
            "object":{"key":"drops/R1L/x+y.csv","eTag":"\"abc\"","size":11}}}]}"#;
        let events = parse_notification(json).unwrap();
        assert_eq!(
            events,
            vec![ObjectCreated {
                bucket: "b".into(),
                key: "drops/R1L/x y.csv".into(),
                etag: "abc".into(),
                version_id: None,
                size: 11
            }]
        );
    }

    #[test]
    fn when_bucket_keeps_versions_should_name_the_version() {
        let json = r#"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},
            "object":{"key":"drops/R1L/a.csv","eTag":"abc","versionId":"v2","size":1}}}]}"#;
        let events = parse_notification(json).unwrap();
        assert_eq!(
            events[0].version(),
            crate::ports::ObjectVersion { etag: "abc".into(), version_id: Some("v2".into()) }
        );
        let unversioned = json.replace("\"v2\"", "\"null\"");
        assert_eq!(parse_notification(&unversioned).unwrap()[0].version_id, None, "S3 says null when unversioned");
    }

    #[test]
    fn when_test_event_should_give_no_records() {
        assert!(parse_notification(r#"{"Event":"s3:TestEvent","Bucket":"b"}"#).unwrap().is_empty());
    }

    #[test]
    fn when_key_is_routed_should_name_team_and_import() {
        let id = Uuid::new_v4();
        assert_eq!(
            route(&format!("uploads/r1l/{id}/file.csv")),
            Ok(KeyRoute::Upload { team_id: "r1l".into(), import_id: id })
        );
        assert_eq!(
            route("drops/R1L/cohort.csv"),
            Ok(KeyRoute::Drop { ods_code: "R1L".into(), filename: "cohort.csv".into() })
        );
        assert_eq!(route("elsewhere/x.csv"), Err(KeyRejection::UnknownPrefix));
        assert_eq!(route("uploads/r1l/not-a-uuid/x.csv"), Err(KeyRejection::MalformedUpload));
        assert_eq!(route("drops/R1L/"), Err(KeyRejection::MalformedDrop));
    }
}
