//! Syncing this service's vaccinations to the NHS Immunisations API and pulling GP-recorded history back
//! (nhs-apis.md §6–§7, issue #6).
//!
//! - [`rules`]: what syncs, the create/update/delete decision, and the status users see.
//! - [`hooks`]: the "needs sync" marker other code writes in the same transaction as a record change, and the
//!   hooks for NHS-number changes and committed imports.
//! - [`worker`]: the fhir function's work per queue message, and the sweep that re-enqueues forgotten markers.
//! - [`history`]: the history search and its de-duplication.

pub mod config;
pub mod history;
pub mod hooks;
pub mod invocation;
pub mod rules;
pub mod worker;

pub use hooks::{import_committed, nhs_number_changed, record_changed_op};
pub use rules::{SyncState, SyncStatus};
pub use worker::{ImmsSync, SyncError, SyncMessage, SyncSettings, Synced, enqueue_sync};

#[cfg(test)]
mod tests;
