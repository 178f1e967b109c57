//! Bridges between the async object store and the blocking, streaming CSV readers: re-openable readers, and rows
//! handed back to the async side in bounded batches so that memory stays flat while staging.

use std::ops::ControlFlow;

use tokio::runtime::Handle;
use tokio::sync::mpsc::Sender;
use tokio_util::io::SyncIoBridge;

use crate::ports::{ObjectReader, ObjectStore, ObjectStoreError, ObjectVersion};

/// Rows sent from the parsing thread to the staging task at once.
pub const STAGE_BATCH: usize = 500;

/// What an import whose file was replaced under its key says (the version it claimed can no longer be read).
pub const FILE_REPLACED: &str = "The file was replaced by another file with the same name while it was being \
     imported, so nothing from it was imported. Upload the file again.";

/// Opens `key` from the start on every call, as a blocking reader (for the streaming CSV readers): exactly
/// `version` of it when given, so that every pass over the file reads the same bytes.
pub fn opener<'a>(
    objects: &'a dyn ObjectStore,
    key: &'a str,
    version: Option<&'a ObjectVersion>,
    handle: Handle,
) -> impl FnMut() -> std::io::Result<SyncIoBridge<ObjectReader>> + 'a {
    move || {
        let opened = match version {
            Some(version) => handle.block_on(objects.open_version(key, version)),
            // Only imports recorded before imports named their object version.
            None => handle.block_on(objects.open(key)),
        };
        let reader = opened.map_err(std::io::Error::other)?;
        Ok(SyncIoBridge::new_with_handle(reader, handle.clone()))
    }
}

/// Whether a read failed because the object is no longer the version the import claimed.
pub fn replaced(error: &std::io::Error) -> bool {
    object_error(error).is_some_and(|e| matches!(e, ObjectStoreError::Changed))
}

/// The object store's own error behind a failed read, if that is what failed.
pub fn object_error(error: &std::io::Error) -> Option<&ObjectStoreError> {
    error.get_ref().and_then(|e| e.downcast_ref::<ObjectStoreError>())
}

/// Collects rows on the parsing thread and sends them in batches of `STAGE_BATCH`; the bounded channel holds the
/// parser back while the store catches up.
pub struct RowBatches<T> {
    sender: Sender<Vec<T>>,
    batch: Vec<T>,
}

impl<T> RowBatches<T> {
    pub fn new(sender: Sender<Vec<T>>) -> Self {
        Self { sender, batch: Vec::with_capacity(STAGE_BATCH) }
    }

    /// Adds a row; `Break` when the receiving side has gone away and reading should stop.
    pub fn push(&mut self, row: T) -> ControlFlow<()> {
        self.batch.push(row);
        if self.batch.len() == STAGE_BATCH && self.sender.blocking_send(std::mem::take(&mut self.batch)).is_err() {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    /// Sends the last, partial batch.
    pub fn finish(self) {
        if !self.batch.is_empty() {
            let _ = self.sender.blocking_send(self.batch);
        }
    }
}
