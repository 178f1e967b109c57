//! Review decisions a team makes after imports (mavis-import.md §7.3, §9.1, §9.4): resolving import issues
//! (duplicates) and confirming or ignoring school moves, and the school-moves export.
//!
//! Every decision is one record-store transaction, conditional on the versions it read: two users deciding the same
//! thing at once end with one outcome, and the other gets [`ReviewError::Conflict`]. Nothing is ever half-applied.

pub mod export;
pub mod issues;
pub mod notices;
pub mod paging;
pub mod school_moves;
pub mod team_child;

use crate::ports::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// Missing, or another team's: callers answer both the same way.
    #[error("not found")]
    NotFound,
    /// A decision the rules do not allow here; the message says why.
    #[error("{0}")]
    NotAllowed(String),
    /// Someone else decided first, or the record changed while deciding; the message says what to do.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ReviewError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(_) => ReviewError::Conflict(CHANGED_WHILE_DECIDING.into()),
            other => ReviewError::Store(other),
        }
    }
}

pub const CHANGED_WHILE_DECIDING: &str =
    "Someone else changed this record while you were deciding. Reload it to see the latest version.";
