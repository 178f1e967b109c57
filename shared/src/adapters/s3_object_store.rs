//! The cloud [`ObjectStore`]: one S3 bucket.
//!
//! ETags are returned without the surrounding quotes that S3 puts on them, so that they compare equal to the `eTag`
//! of an S3 event record (which has none) and to the folder adapter's plain hex hashes.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use bytes::Bytes;

use super::aws::{Failure, REGION, classify, describe};
use aws_sdk_s3::config::ProvideCredentials;

use super::post_policy::PolicyDocument;
use crate::ports::object_store::{
    ObjectInfo, ObjectReader, ObjectStore, ObjectStoreError, ObjectVersion, PostPolicy, PresignedPost, PresignedUpload,
};

/// Objects in one bucket of S3 (or an emulator; build the client with [`super::aws::s3_client`], which forces path
/// style).
#[derive(Debug, Clone)]
pub struct S3ObjectStore {
    client: aws_sdk_s3::Client,
    bucket: String,
    /// An emulator's endpoint (`AWS_ENDPOINT_URL`): browsers then post forms to `{endpoint}/{bucket}`. None on AWS,
    /// where they post to the bucket's own host.
    endpoint: Option<String>,
    /// What signs browser upload forms: the SDK configuration's own credentials (the client does not expose them).
    credentials: Option<aws_sdk_s3::config::SharedCredentialsProvider>,
}

impl S3ObjectStore {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self { client, bucket: bucket.into(), endpoint: None, credentials: None }
    }

    /// Lets browsers upload with signed forms ([`ObjectStore::presign_post`]): the credentials that sign them, and
    /// the emulator endpoint (if any) they post to, path-style, from the configuration the client was built with.
    pub fn with_browser_uploads(mut self, sdk: &aws_config::SdkConfig) -> Self {
        self.endpoint = sdk.endpoint_url().map(|e| e.trim_end_matches('/').to_string());
        self.credentials = sdk.credentials_provider();
        self
    }

    /// Where a browser posts an upload form.
    fn post_url(&self) -> String {
        match &self.endpoint {
            Some(endpoint) => format!("{endpoint}/{}", self.bucket),
            None => format!("https://{}.s3.{}.amazonaws.com/", self.bucket, self.region()),
        }
    }

    fn region(&self) -> String {
        self.client.config().region().map(|r| r.to_string()).unwrap_or_else(|| REGION.to_string())
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

/// Creates `bucket` in eu-west-2 if it does not exist yet (for tests and bootstrapping an emulator; real buckets come
/// from the infrastructure template).
pub async fn create_bucket(client: &aws_sdk_s3::Client, bucket: &str) -> Result<(), ObjectStoreError> {
    let location =
        CreateBucketConfiguration::builder().location_constraint(BucketLocationConstraint::from(REGION)).build();
    match client.create_bucket().bucket(bucket).create_bucket_configuration(location).send().await {
        Ok(_) => Ok(()),
        Err(err) if err.as_service_error().is_some_and(|e| e.is_bucket_already_owned_by_you()) => Ok(()),
        Err(err) => Err(map_err("CreateBucket", bucket, err)),
    }
}

fn map_err<E>(operation: &str, key: &str, err: SdkError<E, HttpResponse>) -> ObjectStoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match classify(&err) {
        Failure::NotFound => ObjectStoreError::NotFound(key.to_owned()),
        Failure::Transient => ObjectStoreError::Transient(Box::new(err)),
        Failure::Invalid => ObjectStoreError::Invalid(describe(operation, &err)),
    }
}

/// S3 answers 412 when a conditional request's precondition (`If-Match`, `If-None-Match`) fails.
fn map_conditional_err<E>(operation: &str, key: &str, err: SdkError<E, HttpResponse>) -> ObjectStoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if err.raw_response().is_some_and(|r| r.status().as_u16() == 412) {
        return ObjectStoreError::Changed;
    }
    map_err(operation, key, err)
}

/// S3 ETags are quoted (`"abc…"`); multipart ones also carry a `-N` suffix, which we keep.
fn unquote(etag: Option<&str>) -> String {
    etag.unwrap_or_default().trim_matches('"').to_owned()
}

fn size(len: Option<i64>) -> u64 {
    len.and_then(|n| u64::try_from(n).ok()).unwrap_or(0)
}

/// `content-type` → `Content-Type`, so that both adapters hand out the same header names.
fn canonical_header_name(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[async_trait]
impl ObjectStore for S3ObjectStore {
    async fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<(), ObjectStoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|err| map_err("PutObject", key, err))?;
        Ok(())
    }

    async fn head(&self, key: &str) -> Result<ObjectInfo, ObjectStoreError> {
        let out = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|err| map_err("HeadObject", key, err))?;
        Ok(ObjectInfo { key: key.to_owned(), size: size(out.content_length()), etag: unquote(out.e_tag()) })
    }

    async fn open(&self, key: &str) -> Result<ObjectReader, ObjectStoreError> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|err| map_err("GetObject", key, err))?;
        // Pinned on the heap so that the reader is Unpin whatever the SDK's stream type is.
        Ok(Box::new(Box::pin(out.body.into_async_read())))
    }

    async fn open_version(&self, key: &str, version: &ObjectVersion) -> Result<ObjectReader, ObjectStoreError> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_version_id(version.version_id.clone())
            .if_match(format!("\"{}\"", version.etag))
            .send()
            .await
            .map_err(|err| map_conditional_err("GetObject", key, err))?;
        Ok(Box::new(Box::pin(out.body.into_async_read())))
    }

    async fn delete(&self, key: &str) -> Result<(), ObjectStoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|err| map_err("DeleteObject", key, err))?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, ObjectStoreError> {
        let mut pages = self.client.list_objects_v2().bucket(&self.bucket).prefix(prefix).into_paginator().send();
        let mut objects = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| map_err("ListObjectsV2", prefix, err))?;
            objects.extend(page.contents().iter().filter_map(|object| {
                Some(ObjectInfo {
                    key: object.key()?.to_owned(),
                    size: size(object.size()),
                    etag: unquote(object.e_tag()),
                })
            }));
        }
        // S3 already lists in UTF-8 byte order; sorting again makes that a property of the port, not of the server.
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }

    async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        content_length: Option<u64>,
        expires_in: Duration,
    ) -> Result<PresignedUpload, ObjectStoreError> {
        let config = PresigningConfig::expires_in(expires_in)
            .map_err(|err| ObjectStoreError::Invalid(format!("presigned upload expiry: {err}")))?;
        // Setting the content type (and length) here puts them in the signed headers: S3 rejects an upload with any
        // other type or size, and `If-None-Match: *` makes the URL create one object only.
        let length = content_length
            .map(i64::try_from)
            .transpose()
            .map_err(|_| ObjectStoreError::Invalid("content length too large".into()))?;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .set_content_length(length)
            .if_none_match("*")
            .presigned(config)
            .await
            .map_err(|err| map_err("PutObject (presign)", key, err))?;
        let headers: BTreeMap<String, String> =
            request.headers().map(|(name, value)| (canonical_header_name(name), value.to_owned())).collect();
        Ok(PresignedUpload {
            method: request.method().to_owned(),
            url: request.uri().to_owned(),
            headers,
            expires_in_seconds: expires_in.as_secs(),
        })
    }

    /// S3's browser-based upload: the policy document signed with SigV4 (AWS's "Authenticating Requests in
    /// Browser-Based Uploads Using POST"), with the credentials the SDK itself resolved.
    async fn presign_post(&self, policy: &PostPolicy) -> Result<PresignedPost, ObjectStoreError> {
        let provider = self.credentials.as_ref().ok_or_else(|| {
            ObjectStoreError::Invalid("browser uploads need the SDK configuration (with_browser_uploads)".into())
        })?;
        let credentials = provider.provide_credentials().await.map_err(|e| ObjectStoreError::Transient(Box::new(e)))?;
        let now = chrono::Utc::now();
        let (date, stamp) = (now.format("%Y%m%d").to_string(), now.format("%Y%m%dT%H%M%SZ").to_string());
        let region = self.region();
        let scope = format!("{date}/{region}/s3/aws4_request");
        let mut document = PolicyDocument::new(policy, Some(&self.bucket), now);
        document.fix("x-amz-algorithm", "AWS4-HMAC-SHA256");
        document.fix("x-amz-credential", &format!("{}/{scope}", credentials.access_key_id()));
        document.fix("x-amz-date", &stamp);
        if let Some(token) = credentials.session_token() {
            document.fix("x-amz-security-token", token);
        }
        let encoded = document.encoded();
        let key = [date.as_str(), region.as_str(), "s3", "aws4_request"]
            .iter()
            .fold(format!("AWS4{}", credentials.secret_access_key()).into_bytes(), |key, part| {
                hmac(&key, part.as_bytes())
            });
        let signature: String = hmac(&key, encoded.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        let mut fields = document.fields;
        fields.push(("policy".into(), encoded));
        fields.push(("x-amz-signature".into(), signature));
        Ok(PresignedPost { url: self.post_url(), fields, expires_in_seconds: policy.expires_in.as_secs() })
    }

    fn upload_origin(&self) -> Option<String> {
        let url = reqwest::Url::parse(&self.post_url()).ok()?;
        Some(url.origin().ascii_serialization())
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_header_names() {
        assert_eq!(canonical_header_name("content-type"), "Content-Type");
        assert_eq!(canonical_header_name("x-amz-meta-a"), "X-Amz-Meta-A");
    }

    #[test]
    fn etags_lose_their_quotes() {
        assert_eq!(unquote(Some("\"abc\"")), "abc");
        assert_eq!(unquote(Some("\"abc-2\"")), "abc-2");
        assert_eq!(unquote(None), "");
    }
}
