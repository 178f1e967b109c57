//! Drives a [`PatientSearcher`] through the cascade, one PDS request per step, and maps PDS's answers to
//! [`StepResult`]s (§11.1 "Error mapping").
//!
//! Mavis runs one step per job execution; here the whole cascade runs in one call, but it is re-startable in the
//! same way: when PDS says "later" the records so far come back in [`CascadeError::Retry`], the caller stores them
//! with the changeset, and [`resume`] continues after the last recorded step instead of repeating it.

use async_trait::async_trait;

use super::{Identity, SearchRecord, SearchStep, StepResult, query_for, step_after};
use crate::clock::Clock;
use crate::nhs_api::{PdsClient, PdsError, PdsSearch, SearchResult};

/// One PDS patient search. The PDS client implements it; tests can substitute a fake.
#[async_trait]
pub trait PatientSearcher: Send + Sync {
    async fn search(&self, search: &PdsSearch) -> Result<SearchResult, PdsError>;
}

#[async_trait]
impl PatientSearcher for PdsClient {
    async fn search(&self, search: &PdsSearch) -> Result<SearchResult, PdsError> {
        PdsClient::search(self, search).await
    }
}

/// Why the cascade could not finish now.
#[derive(Debug, thiserror::Error)]
pub enum CascadeError {
    /// PDS asked us to come back later: 429, or a transient failure (5xx, 408, no answer, token endpoint down).
    ///
    /// Mavis re-raises only 429 and records 5xx as `error`, which ends the cascade for good; we retry those too,
    /// because a short outage would otherwise lose the match permanently and lower the import's match rate
    /// (§11.2) for reasons unrelated to the data. `records` holds every completed step, prior ones included:
    /// store them and pass them to [`resume`] on the retry. The failed step is not recorded, so it runs again.
    #[error("PDS search must be retried later: {source}")]
    Retry { records: Vec<SearchRecord>, source: PdsError },
}

impl CascadeError {
    /// The completed steps to store before retrying.
    pub fn records(&self) -> &[SearchRecord] {
        match self {
            Self::Retry { records, .. } => records,
        }
    }
}

/// Runs the cascade from the first step. See [`resume`].
pub async fn run(
    searcher: &dyn PatientSearcher,
    identity: &Identity,
    clock: &Clock,
) -> Result<Vec<SearchRecord>, CascadeError> {
    resume(searcher, identity, &[], clock).await
}

/// Continues a cascade after the `prior` records (empty: start from the first step) and returns all records,
/// prior ones first. A finished `prior` is returned unchanged without any request.
pub async fn resume(
    searcher: &dyn PatientSearcher,
    identity: &Identity,
    prior: &[SearchRecord],
    clock: &Clock,
) -> Result<Vec<SearchRecord>, CascadeError> {
    let record = |step, result, nhs_number| SearchRecord { step, result, nhs_number, created_at: clock.now() };
    let mut records = prior.to_vec();
    if records.is_empty() && identity.postcode().is_none() {
        records.push(record(SearchStep::FIRST, StepResult::NoPostcode, None));
        return Ok(records);
    }
    while let Some(step) = step_after(&records) {
        let Some(search) = query_for(step, identity) else {
            records.push(record(step, StepResult::SkipStep, None));
            continue;
        };
        let (result, nhs_number) = match searcher.search(&search).await {
            Ok(SearchResult::NoMatch) | Err(PdsError::NotFound) => (StepResult::NoMatches, None),
            Ok(SearchResult::OneMatch(patient)) => (StepResult::OneMatch, Some(patient.nhs_number)),
            Ok(SearchResult::TooManyMatches) => (StepResult::TooManyMatches, None),
            Err(source) if source.is_transient() => {
                tracing::info!(?step, error = %source, "PDS cascading search deferred");
                return Err(CascadeError::Retry { records, source });
            }
            Err(error) => {
                // `PdsError`'s Display carries codes and statuses only, never the search terms.
                tracing::warn!(?step, %error, "PDS cascading search step failed");
                (StepResult::Error, None)
            }
        };
        records.push(record(step, result, nhs_number));
    }
    Ok(records)
}
