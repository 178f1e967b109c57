//! Finding a child's NHS number in PDS during an import: Mavis's cascading search (mavis-import.md §11.1,
//! nhs-apis.md §2.4) and the low-match-rate check built on its results (§11.2).
//!
//! - [`cascade`]: the step table as data, the pure rules (which query, which step next, what the results mean) and
//!   [`cascade::run`], which drives a [`cascade::PatientSearcher`] (the PDS client, or a test fake) through it.
//! - [`match_rate`]: the share of changesets whose search found exactly one NHS number.
//!
//! Both work on [`cascade::SearchRecord`]s, which the caller stores on the changeset, so a cascade interrupted by a
//! rate limit can resume where it stopped and the match rate can be computed once every changeset is done.

pub mod cascade;
mod match_rate;

pub use match_rate::{MIN_CHANGESETS_FOR_MATCH_RATE, MIN_MATCH_RATE, match_rate};
