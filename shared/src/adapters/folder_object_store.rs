//! The embedded [`ObjectStore`] for the local runner: each object is a file under a root folder, and presigned
//! uploads are served by [`upload_router`] instead of S3.
//!
//! Layout under `root`:
//! - `<key>`: the object itself; a key is its path relative to the root, `/`-separated.
//! - `.mavis-meta/<key>`: a sidecar with the object's ETag (hex MD5 of the content, computed while writing: S3's
//!   ETag of a single-part upload, so that one file has the same ETag in either store and in S3 events) and
//!   a fingerprint of the file it describes (inode, size, mtime). `head` and `list` trust the sidecar only while the
//!   fingerprint still matches; otherwise (a crash between the two renames, or a file changed by hand) they hash the
//!   file again and rewrite the sidecar. This keeps `head` cheap for 1 GiB files without ever returning a stale ETag.
//! - `.mavis-tmp/`: files being written. Every write goes to a temp file first and is renamed into place, so a reader
//!   sees the old object or the new one, never half a file.
//!
//! Keys whose first segment starts with `.mavis-` are reserved, and so `Invalid`. So are keys that could escape the
//! root or alias another key: empty, absolute, `..`/`.`/empty segments, backslashes and control characters.
//! Unlike S3, a folder cannot hold both `a` and `a/b`; the second put fails with `Invalid`.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use bytes::Bytes;
use futures::TryStreamExt;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::post_policy::PolicyDocument;
use crate::ports::object_store::{
    ObjectInfo, ObjectReader, ObjectStore, ObjectStoreError, ObjectVersion, PostPolicy, PresignedPost, PresignedUpload,
};

/// Largest upload [`upload_router`] accepts unless [`FolderObjectStore::with_max_upload_bytes`] says otherwise.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 1 << 30;

const RESERVED_PREFIX: &str = ".mavis-";
const META_DIR: &str = ".mavis-meta";
const TMP_DIR: &str = ".mavis-tmp";
/// S3's limit on key length, so that keys valid here are valid there too.
const MAX_KEY_BYTES: usize = 1024;
/// Most file systems' limit on one path segment.
const MAX_SEGMENT_BYTES: usize = 255;
const COPY_BUFFER_BYTES: usize = 64 * 1024;

/// RFC 3986 unreserved characters pass; everything else is escaped (in the path, `/` also passes).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
const URL_PATH: &AsciiSet = &QUERY_VALUE.remove(b'/');

type HmacSha256 = Hmac<Sha256>;

/// What the upload endpoint reports once a file is safely in place: the local runner turns it into an S3-like
/// `ObjectCreated` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectStored {
    pub key: String,
    pub size: u64,
    pub etag: String,
}

/// Why a presigned upload was refused. The messages are shown to the uploader, so they say no more than this.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadRejected {
    #[error("upload link signature is invalid")]
    BadSignature,
    #[error("upload link has expired")]
    Expired,
}

/// See the module documentation. Cheap to share behind an `Arc`; holds no open files.
pub struct FolderObjectStore {
    root: PathBuf,
    base_url: String,
    signing_key: [u8; 32],
    max_upload_bytes: u64,
}

impl std::fmt::Debug for FolderObjectStore {
    // Hand-written so that the signing key never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FolderObjectStore")
            .field("root", &self.root)
            .field("base_url", &self.base_url)
            .field("max_upload_bytes", &self.max_upload_bytes)
            .finish_non_exhaustive()
    }
}

impl FolderObjectStore {
    /// `base_url` is where [`upload_router`] is served (e.g. `http://127.0.0.1:3000`); presigned URLs point there.
    /// The root folder is created on the first write.
    pub fn new(root: impl Into<PathBuf>, base_url: String, signing_key: [u8; 32]) -> Self {
        let base_url = base_url.trim_end_matches('/').to_owned();
        Self { root: root.into(), base_url, signing_key, max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES }
    }

    pub fn with_max_upload_bytes(mut self, max_upload_bytes: u64) -> Self {
        self.max_upload_bytes = max_upload_bytes;
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn max_upload_bytes(&self) -> u64 {
        self.max_upload_bytes
    }

    /// Checks a presigned upload's parameters, comparing the signature in constant time.
    pub fn verify_upload(
        &self,
        key: &str,
        content_type: &str,
        content_length: Option<u64>,
        expires: u64,
        signature: &str,
    ) -> Result<(), UploadRejected> {
        let tag = decode_hex(signature).ok_or(UploadRejected::BadSignature)?;
        self.mac(key, content_type, content_length, expires)
            .verify_slice(&tag)
            .map_err(|_| UploadRejected::BadSignature)?;
        if unix_now() > expires {
            return Err(UploadRejected::Expired);
        }
        Ok(())
    }

    /// The signature of a form upload's policy document (hex HMAC-SHA256 with the store's key).
    pub(super) fn policy_signature(&self, encoded_policy: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.signing_key).expect("HMAC accepts keys of any length");
        mac.update(b"POST\n");
        mac.update(encoded_policy.as_bytes());
        mac
    }

    pub(super) fn form_url(&self) -> String {
        format!("{}{FORM_UPLOAD_PATH}", self.base_url)
    }

    fn mac(&self, key: &str, content_type: &str, content_length: Option<u64>, expires: u64) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.signing_key).expect("HMAC accepts keys of any length");
        let length = content_length.map(|n| n.to_string()).unwrap_or_default();
        mac.update(format!("PUT\n{key}\n{content_type}\n{length}\n{expires}").as_bytes());
        mac
    }

    fn paths(&self, key: &str) -> Result<Paths, ObjectStoreError> {
        validate_key(key)?;
        Ok(Paths { object: self.root.join(key), meta: self.root.join(META_DIR).join(key) })
    }

    /// Streams `reader` into the object at `key`, hashing as it goes; fails with `TooLarge` past `limit` bytes.
    pub(super) async fn write_stream(
        &self,
        key: &str,
        reader: impl AsyncRead + Unpin,
        limit: u64,
    ) -> Result<ObjectStored, WriteError> {
        self.write_exact(key, reader, limit, None, false).await
    }

    /// As [`Self::write_stream`], and with `exact` the body must be exactly that long (`WrongLength` otherwise),
    /// checked before the object is replaced: a refused body never touches what was stored. With `create_only`, an
    /// object already at `key` is kept and the write fails with `Exists` (S3's `If-None-Match: *`).
    pub(super) async fn write_exact(
        &self,
        key: &str,
        mut reader: impl AsyncRead + Unpin,
        limit: u64,
        exact: Option<u64>,
        create_only: bool,
    ) -> Result<ObjectStored, WriteError> {
        let paths = self.paths(key)?;
        let tmp_dir = self.root.join(TMP_DIR);
        tokio::fs::create_dir_all(&tmp_dir).await.map_err(transient)?;
        let tmp = TempFile(tmp_dir.join(uuid::Uuid::new_v4().to_string()));
        let mut options = tokio::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        // Uploaded files hold personal data: the owner's alone, whatever the folder's mode.
        #[cfg(unix)]
        options.mode(0o600);
        let mut file = options.open(&tmp.0).await.map_err(transient)?;
        let mut hasher = md5::Md5::new();
        let mut size: u64 = 0;
        let mut buf = vec![0u8; COPY_BUFFER_BYTES];
        loop {
            let n = reader.read(&mut buf).await.map_err(WriteError::Body)?;
            if n == 0 {
                break;
            }
            size += n as u64;
            if size > limit {
                return Err(WriteError::TooLarge);
            }
            hasher.update(&buf[..n]);
            file.write_all(&buf[..n]).await.map_err(transient)?;
        }
        if exact.is_some_and(|n| n != size) {
            return Err(WriteError::WrongLength);
        }
        file.flush().await.map_err(transient)?;
        file.sync_all().await.map_err(transient)?;
        let fingerprint = fingerprint(&file.metadata().await.map_err(transient)?);
        drop(file);
        let etag = encode_hex(&hasher.finalize());
        let store = self.root.clone();
        let stored = ObjectStored { key: key.to_owned(), size, etag: etag.clone() };
        tokio::task::spawn_blocking(move || match create_only {
            true => commit_new(&store, &paths, &tmp, &etag, &fingerprint),
            false => commit(&store, &paths, &tmp, &etag, &fingerprint).map_err(WriteError::from),
        })
        .await
        .map_err(|err| WriteError::Store(ObjectStoreError::Transient(Box::new(err))))??;
        Ok(stored)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(PathBuf) -> Result<T, ObjectStoreError> + Send + 'static,
    ) -> Result<T, ObjectStoreError> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || f(root)).await.map_err(|err| ObjectStoreError::Transient(Box::new(err)))?
    }
}

struct Paths {
    object: PathBuf,
    meta: PathBuf,
}

/// Removes a temp file that did not make it into place (on every early return and on panic).
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

#[derive(Debug, thiserror::Error)]
pub(super) enum WriteError {
    #[error("object is larger than the limit")]
    TooLarge,
    #[error("object is not the length it was signed for")]
    WrongLength,
    #[error("an object is already stored at this key")]
    Exists,
    #[error("reading the upload failed")]
    Body(#[source] io::Error),
    #[error(transparent)]
    Store(#[from] ObjectStoreError),
}

fn transient(err: io::Error) -> WriteError {
    WriteError::Store(ObjectStoreError::Transient(Box::new(err)))
}

fn io_err(key: &str, err: io::Error) -> ObjectStoreError {
    match err.kind() {
        io::ErrorKind::NotFound => ObjectStoreError::NotFound(key.to_owned()),
        // A file where a folder is needed or the other way round: `a` and `a/b` cannot both exist here.
        io::ErrorKind::NotADirectory | io::ErrorKind::IsADirectory | io::ErrorKind::AlreadyExists => {
            ObjectStoreError::Invalid(format!("key clashes with an existing object or prefix: {err}"))
        }
        io::ErrorKind::InvalidFilename => ObjectStoreError::Invalid(format!("key is not a valid file name: {err}")),
        _ => ObjectStoreError::Transient(Box::new(err)),
    }
}

fn validate_key(key: &str) -> Result<(), ObjectStoreError> {
    let invalid = |why: &str| Err(ObjectStoreError::Invalid(format!("invalid object key: {why}")));
    if key.is_empty() {
        return invalid("empty");
    }
    if key.len() > MAX_KEY_BYTES {
        return invalid("longer than 1024 bytes");
    }
    if key.chars().any(char::is_control) {
        return invalid("contains a control character");
    }
    if key.starts_with('/') || key.contains('\\') {
        return invalid("absolute path or backslash");
    }
    if key.starts_with(RESERVED_PREFIX) {
        return invalid("reserved prefix");
    }
    for segment in key.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return invalid("empty, '.' or '..' path segment");
        }
        if segment.len() > MAX_SEGMENT_BYTES {
            return invalid("path segment longer than 255 bytes");
        }
    }
    Ok(())
}

/// Identifies one version of a file: a rename keeps it, a rewrite changes it (a new temp file has a new inode).
fn fingerprint(meta: &fs::Metadata) -> String {
    let mtime = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).unwrap_or_default();
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(meta);
    #[cfg(not(unix))]
    let inode = 0u64;
    format!("{inode}:{}:{}", meta.len(), mtime.as_nanos())
}

/// Puts the sidecar, then the object, in place. A crash in between leaves a sidecar whose fingerprint matches no
/// file, which the next `head` detects and repairs.
fn commit(root: &Path, paths: &Paths, tmp: &TempFile, etag: &str, fingerprint: &str) -> Result<(), ObjectStoreError> {
    let key = paths.object.strip_prefix(root).unwrap_or(&paths.object).to_string_lossy().into_owned();
    write_sidecar(root, &paths.meta, etag, fingerprint).map_err(|err| io_err(&key, err))?;
    // A concurrent delete may prune the parent folder between create_dir_all and rename; try again once.
    for attempt in 0..2 {
        if let Some(parent) = paths.object.parent() {
            fs::create_dir_all(parent).map_err(|err| io_err(&key, err))?;
        }
        match fs::rename(&tmp.0, &paths.object) {
            Ok(()) => return Ok(()),
            Err(err) if err.kind() == io::ErrorKind::NotFound && attempt == 0 => continue,
            Err(err) => return Err(io_err(&key, err)),
        }
    }
    Ok(())
}

/// Links the object into place only if nothing is there (a hard link never replaces its target, so two racing
/// uploads cannot both win), then writes its sidecar. A crash in between leaves an object without a sidecar, which
/// the next `head` hashes.
fn commit_new(root: &Path, paths: &Paths, tmp: &TempFile, etag: &str, fingerprint: &str) -> Result<(), WriteError> {
    let key = paths.object.strip_prefix(root).unwrap_or(&paths.object).to_string_lossy().into_owned();
    if let Some(parent) = paths.object.parent() {
        fs::create_dir_all(parent).map_err(|err| io_err(&key, err))?;
    }
    match fs::hard_link(&tmp.0, &paths.object) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => return Err(WriteError::Exists),
        Err(err) => return Err(io_err(&key, err).into()),
    }
    write_sidecar(root, &paths.meta, etag, fingerprint).map_err(|err| io_err(&key, err))?;
    Ok(())
}

fn write_sidecar(root: &Path, meta_path: &Path, etag: &str, fingerprint: &str) -> io::Result<()> {
    if let Some(parent) = meta_path.parent() {
        fs::create_dir_all(parent)?;
    }
    let tmp_dir = root.join(TMP_DIR);
    fs::create_dir_all(&tmp_dir)?;
    let tmp = TempFile(tmp_dir.join(format!("{}.meta", uuid::Uuid::new_v4())));
    fs::write(&tmp.0, format!("{etag} {fingerprint}"))?;
    fs::rename(&tmp.0, meta_path)
}

/// The object at `paths`, opened (which pins this version of it: writes rename a new file into place), with its
/// size and ETag: from the sidecar when it still describes the file, else by hashing it (the handle is then left
/// at the end of the file).
fn open_with_info(root: &Path, key: &str, paths: &Paths) -> Result<(fs::File, ObjectInfo), ObjectStoreError> {
    let mut file = fs::File::open(&paths.object).map_err(|err| io_err(key, err))?;
    let meta = file.metadata().map_err(|err| io_err(key, err))?;
    if !meta.is_file() {
        return Err(ObjectStoreError::NotFound(key.to_owned()));
    }
    let current = fingerprint(&meta);
    let recorded = fs::read_to_string(&paths.meta).unwrap_or_default();
    let etag = match recorded.split_once(' ') {
        Some((etag, fingerprint)) if fingerprint == current => etag.to_owned(),
        _ => {
            // The open handle pins this version of the file, so the hash and the fingerprint belong together.
            let etag = hash_reader(&mut file).map_err(|err| io_err(key, err))?;
            if let Err(err) = write_sidecar(root, &paths.meta, &etag, &current) {
                tracing::warn!(error = %err, "could not rewrite an object store sidecar; will hash again next time");
            }
            etag
        }
    };
    Ok((file, ObjectInfo { key: key.to_owned(), size: meta.len(), etag }))
}

fn object_info(root: &Path, key: &str, paths: &Paths) -> Result<ObjectInfo, ObjectStoreError> {
    open_with_info(root, key, paths).map(|(_, info)| info)
}

fn hash_reader(reader: &mut impl Read) -> io::Result<String> {
    let mut hasher = md5::Md5::new();
    let mut buf = vec![0u8; COPY_BUFFER_BYTES];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(encode_hex(&hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

/// Removes now-empty folders from `path`'s parent up to (not including) `stop`.
fn prune_empty_parents(path: &Path, stop: &Path) {
    let mut dir = path.parent();
    while let Some(d) = dir {
        if d == stop || !d.starts_with(stop) || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

/// Every object key under `root` that starts with `prefix`, found by walking only the folder the prefix names.
fn list_keys(root: &Path, prefix: &str) -> Result<Vec<String>, ObjectStoreError> {
    let (dir_part, _) = prefix.rsplit_once('/').unwrap_or(("", prefix));
    if !dir_part.is_empty() {
        validate_key(dir_part)?;
    }
    let mut keys = Vec::new();
    let mut stack = vec![(root.join(dir_part), dir_part.to_owned())];
    while let Some((dir, rel)) = stack.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if matches!(err.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => {
                continue;
            }
            Err(err) => return Err(ObjectStoreError::Transient(Box::new(err))),
        };
        for entry in entries {
            let entry = entry.map_err(|err| ObjectStoreError::Transient(Box::new(err)))?;
            // Names that are not UTF-8 cannot be keys; symlinks are skipped so that listing never leaves the root.
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            if rel.is_empty() && name.starts_with(RESERVED_PREFIX) {
                continue;
            }
            let key = if rel.is_empty() { name } else { format!("{rel}/{name}") };
            if file_type.is_dir() {
                if key.starts_with(prefix) || prefix.starts_with(&format!("{key}/")) {
                    stack.push((entry.path(), key));
                }
            } else if file_type.is_file() && key.starts_with(prefix) {
                keys.push(key);
            }
        }
    }
    keys.sort();
    Ok(keys)
}

#[async_trait]
impl ObjectStore for FolderObjectStore {
    async fn put(&self, key: &str, body: Bytes, _content_type: &str) -> Result<(), ObjectStoreError> {
        // The content type is not kept: nothing reads it back, and S3 events do not carry it either.
        match self.write_stream(key, &body[..], u64::MAX).await {
            Ok(_) => Ok(()),
            Err(WriteError::Store(err)) => Err(err),
            Err(err) => Err(ObjectStoreError::Transient(Box::new(err))),
        }
    }

    async fn head(&self, key: &str) -> Result<ObjectInfo, ObjectStoreError> {
        let paths = self.paths(key)?;
        let key = key.to_owned();
        self.blocking(move |root| object_info(&root, &key, &paths)).await
    }

    async fn open(&self, key: &str) -> Result<ObjectReader, ObjectStoreError> {
        let paths = self.paths(key)?;
        let file = tokio::fs::File::open(&paths.object).await.map_err(|err| io_err(key, err))?;
        let is_file = file.metadata().await.map_err(|err| io_err(key, err))?.is_file();
        if !is_file {
            return Err(ObjectStoreError::NotFound(key.to_owned()));
        }
        Ok(Box::new(file))
    }

    async fn open_version(&self, key: &str, version: &ObjectVersion) -> Result<ObjectReader, ObjectStoreError> {
        use std::io::Seek;
        let paths = self.paths(key)?;
        let (key, expected) = (key.to_owned(), version.etag.clone());
        let file = self
            .blocking(move |root| {
                let (mut file, info) = open_with_info(&root, &key, &paths)?;
                if info.etag != expected {
                    return Err(ObjectStoreError::Changed);
                }
                file.rewind().map_err(|err| io_err(&key, err))?;
                Ok(file)
            })
            .await?;
        Ok(Box::new(tokio::fs::File::from_std(file)))
    }

    /// Like S3, deleting a missing key succeeds.
    async fn delete(&self, key: &str) -> Result<(), ObjectStoreError> {
        let paths = self.paths(key)?;
        let key = key.to_owned();
        self.blocking(move |root| {
            match fs::remove_file(&paths.object) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(io_err(&key, err)),
            }
            let _ = fs::remove_file(&paths.meta);
            prune_empty_parents(&paths.object, &root);
            prune_empty_parents(&paths.meta, &root.join(META_DIR));
            Ok(())
        })
        .await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, ObjectStoreError> {
        let prefix = prefix.to_owned();
        self.blocking(move |root| {
            let mut objects = Vec::new();
            for key in list_keys(&root, &prefix)? {
                let paths = Paths { object: root.join(&key), meta: root.join(META_DIR).join(&key) };
                match object_info(&root, &key, &paths) {
                    Ok(info) => objects.push(info),
                    // Deleted since the walk saw it.
                    Err(ObjectStoreError::NotFound(_)) => {}
                    Err(err) => return Err(err),
                }
            }
            Ok(objects)
        })
        .await
    }

    async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        content_length: Option<u64>,
        expires_in: Duration,
    ) -> Result<PresignedUpload, ObjectStoreError> {
        validate_key(key)?;
        if content_type.is_empty() || !content_type.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            return Err(ObjectStoreError::Invalid("content type must be printable ASCII".into()));
        }
        let expires = unix_now().saturating_add(expires_in.as_secs());
        let signature = encode_hex(&self.mac(key, content_type, content_length, expires).finalize().into_bytes());
        let length = content_length.map(|n| format!("&content_length={n}")).unwrap_or_default();
        let url = format!(
            "{}/local-upload/{}?content_type={}{length}&expires={expires}&signature={signature}",
            self.base_url,
            utf8_percent_encode(key, URL_PATH),
            utf8_percent_encode(content_type, QUERY_VALUE),
        );
        let mut headers = BTreeMap::from([("Content-Type".to_owned(), content_type.to_owned())]);
        if let Some(n) = content_length {
            headers.insert("Content-Length".to_owned(), n.to_string());
        }
        // Told to the client as S3's URL requires it; this store refuses a second object whether or not it is sent.
        headers.insert("If-None-Match".to_owned(), "*".to_owned());
        Ok(PresignedUpload { method: "PUT".into(), url, headers, expires_in_seconds: expires_in.as_secs() })
    }

    /// The same policy document as S3's, signed with this store's key; [`upload_router`] checks it on receipt.
    async fn presign_post(&self, policy: &PostPolicy) -> Result<PresignedPost, ObjectStoreError> {
        let document = PolicyDocument::new(policy, None, chrono::Utc::now());
        let encoded = document.encoded();
        let signature = encode_hex(&self.policy_signature(&encoded).finalize().into_bytes());
        let mut fields = document.fields;
        fields.push(("policy".into(), encoded));
        fields.push(("x-mavis-signature".into(), signature));
        Ok(PresignedPost { url: self.form_url(), fields, expires_in_seconds: policy.expires_in.as_secs() })
    }
}

/// Where [`upload_router`] takes form uploads.
pub const FORM_UPLOAD_PATH: &str = "/local-upload";

#[derive(Clone)]
pub(super) struct UploadState {
    pub(super) store: Arc<FolderObjectStore>,
    pub(super) on_stored: Arc<dyn Fn(ObjectStored) + Send + Sync>,
}

/// All optional so that a missing or malformed parameter reads as a bad signature (403), not axum's generic 400.
#[derive(Deserialize)]
struct UploadParams {
    content_type: Option<String>,
    content_length: Option<String>,
    expires: Option<String>,
    signature: Option<String>,
}

/// Serves `PUT /local-upload/{*key}`, the local stand-in for a presigned S3 PUT: 403 for a bad or expired signature,
/// 400 for a Content-Type other than the signed one, 413 past the store's upload limit, 412 when an object is
/// already at the key (the link uploads one file), and 200 with an `ETag`
/// header once the file is in place and `on_stored` has been told. The body is streamed to disk, never buffered.
///
/// `POST /local-upload` takes form uploads, the local stand-in for S3's POST policy ([`super::folder_form_upload`]).
pub fn upload_router(store: Arc<FolderObjectStore>, on_stored: Arc<dyn Fn(ObjectStored) + Send + Sync>) -> Router {
    Router::new()
        .route("/local-upload/{*key}", put(handle_upload))
        .route(
            FORM_UPLOAD_PATH,
            axum::routing::post(super::folder_form_upload::handle).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .with_state(UploadState { store, on_stored })
}

async fn handle_upload(
    State(state): State<UploadState>,
    UrlPath(key): UrlPath<String>,
    Query(params): Query<UploadParams>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let text = |status: StatusCode, reason: &'static str| (status, reason).into_response();
    let (Some(content_type), Some(expires), Some(signature)) = (params.content_type, params.expires, params.signature)
    else {
        return text(StatusCode::FORBIDDEN, "upload link is incomplete");
    };
    let Ok(expires) = expires.parse::<u64>() else {
        return text(StatusCode::FORBIDDEN, "upload link is malformed");
    };
    let signed_length = match params.content_length.map(|n| n.parse::<u64>()) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => return text(StatusCode::FORBIDDEN, "upload link is malformed"),
    };
    let store = &state.store;
    match store.verify_upload(&key, &content_type, signed_length, expires, &signature) {
        Ok(()) => {}
        Err(UploadRejected::BadSignature) => {
            return text(StatusCode::FORBIDDEN, "upload link signature is invalid");
        }
        Err(UploadRejected::Expired) => {
            return text(StatusCode::FORBIDDEN, "upload link has expired");
        }
    }
    let sent_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if sent_type.trim() != content_type {
        return text(StatusCode::BAD_REQUEST, "Content-Type does not match the upload link");
    }
    let declared_len = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared_len.is_some_and(|len| len > store.max_upload_bytes) {
        return text(StatusCode::PAYLOAD_TOO_LARGE, "upload is too large");
    }
    // As S3 does with a signed Content-Length: the body must be exactly that long.
    if signed_length.is_some() && declared_len != signed_length {
        return text(StatusCode::FORBIDDEN, "Content-Length does not match the upload link");
    }
    let reader = tokio_util::io::StreamReader::new(body.into_data_stream().map_err(io::Error::other));
    let limit = signed_length.unwrap_or(store.max_upload_bytes).min(store.max_upload_bytes);
    match store.write_exact(&key, reader, limit, signed_length, true).await {
        Ok(stored) => {
            let etag = format!("\"{}\"", stored.etag);
            (state.on_stored)(stored);
            (StatusCode::OK, [(header::ETAG, etag)]).into_response()
        }
        Err(WriteError::TooLarge) => text(StatusCode::PAYLOAD_TOO_LARGE, "upload is too large"),
        Err(WriteError::WrongLength) => text(StatusCode::BAD_REQUEST, "upload is not the length it was signed for"),
        Err(WriteError::Exists) => {
            text(StatusCode::PRECONDITION_FAILED, "a file has already been uploaded with this link")
        }
        Err(WriteError::Body(_)) => text(StatusCode::BAD_REQUEST, "upload was interrupted"),
        Err(WriteError::Store(ObjectStoreError::Invalid(_))) => text(StatusCode::BAD_REQUEST, "invalid object key"),
        Err(err) => {
            // The key is left out: it may carry the uploaded file's name.
            tracing::error!(error = &err as &(dyn std::error::Error + 'static), "local upload could not be stored");
            text(StatusCode::INTERNAL_SERVER_ERROR, "upload could not be stored")
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

pub(super) fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_could_escape_or_alias_are_invalid() {
        for key in ["", "/abs", "a/../b", "..", "a//b", "./a", "a/", "a\0b", "a\\b", ".mavis-meta/x", "a\nb"] {
            assert!(matches!(validate_key(key), Err(ObjectStoreError::Invalid(_))), "{key:?} should be invalid");
        }
        for key in ["a", "incoming/my file+1.csv", "a/b/c.csv", ".hidden", "a/.mavis-x"] {
            assert!(validate_key(key).is_ok(), "{key:?} should be valid");
        }
    }

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        assert_eq!(decode_hex(&encode_hex(&[0, 1, 0xab, 0xff])), Some(vec![0, 1, 0xab, 0xff]));
        assert_eq!(decode_hex("abc"), None);
        assert_eq!(decode_hex("zz"), None);
        assert_eq!(decode_hex("é1"), None);
    }
}
