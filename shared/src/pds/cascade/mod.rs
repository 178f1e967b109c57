//! The cascading PDS search (mavis-import.md §11.1, nhs-apis.md §2.4) as data and pure functions, so every row of
//! the step table can be tested without I/O. [`run`] (in `run.rs`) is the only part that talks to PDS.
//!
//! Each step is one non-fuzzy search that changes at most one field of the base query; the step's result decides
//! the next step. The cascade stops on `error`, when the table says so, or as soon as more than one distinct NHS
//! number has been seen (several candidates can never become a unique match).

mod run;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::nhs_api::PdsSearch;

pub use run::{CascadeError, PatientSearcher, resume, run};

/// One row of the step table. Serialised with Mavis's names, which are also the stored values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchStep {
    /// The first step: the base query, history on.
    NoFuzzyWithHistory,
    /// After too many matches: the base query without `_history`, so old names and addresses stop matching.
    NoFuzzyWithoutHistory,
    /// After no match: postcode reduced to its first 2 characters + `*`.
    NoFuzzyWithWildcardPostcode,
    /// Given name reduced to its first 3 characters + `*` (skipped for names of 3 characters or fewer).
    NoFuzzyWithWildcardGivenName,
    /// Family name reduced to its first 3 characters + `*` (skipped for names of 3 characters or fewer).
    NoFuzzyWithWildcardFamilyName,
}

impl SearchStep {
    /// Where every cascade starts.
    pub const FIRST: SearchStep = SearchStep::NoFuzzyWithHistory;

    /// The label on the patient's "NHS number lookup history" page (§11.1).
    pub fn label(self) -> &'static str {
        match self {
            Self::NoFuzzyWithHistory => "Non-fuzzy search (with history)",
            Self::NoFuzzyWithoutHistory => "Non-fuzzy search (without history)",
            Self::NoFuzzyWithWildcardPostcode => "Non-fuzzy search (with history and wildcard postcode)",
            Self::NoFuzzyWithWildcardGivenName => "Non-fuzzy search (with history and wildcard first name)",
            Self::NoFuzzyWithWildcardFamilyName => "Non-fuzzy search (with history and wildcard surname)",
        }
    }
}

/// What one step found. Serialised with Mavis's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepResult {
    NoMatches,
    OneMatch,
    TooManyMatches,
    /// PDS refused the search or answered something unusable; the cascade stops.
    Error,
    /// The step's wildcard would be too short to send; no request was made.
    SkipStep,
    /// The record has no postcode, so nothing was searched at all.
    NoPostcode,
}

/// One step's result as stored on the changeset (Mavis's `pds_search_results` row without the foreign keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchRecord {
    pub step: SearchStep,
    pub result: StepResult,
    /// Set only for `one_match`.
    pub nhs_number: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The demographics the cascade searches with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: NaiveDate,
    /// Blank counts as absent: the cascade records `no_postcode` and searches nothing.
    pub postcode: Option<String>,
}

impl Identity {
    /// The trimmed postcode, or `None` when it is missing or blank.
    pub fn postcode(&self) -> Option<&str> {
        self.postcode.as_deref().map(str::trim).filter(|p| !p.is_empty())
    }
}

/// What a finished (or stopped) cascade means for the changeset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CascadeOutcome {
    /// The NHS number when exactly one distinct number was found; zero or several leave the upload unchanged.
    pub pds_nhs_number: Option<String>,
    /// Whether a search was attempted, for the match rate (§11.2): results exist and are not just `no_postcode`.
    pub attempted: bool,
}

/// The query for `step`, or `None` when the step must be recorded as `skip_step` (a wildcard would leave fewer than
/// the characters PDS needs before the `*`). Wildcard steps each change one field of the base query; the
/// postcode wildcard is not carried into the name steps (nhs-apis.md §2.4).
pub fn query_for(step: SearchStep, identity: &Identity) -> Option<PdsSearch> {
    let base = PdsSearch {
        family: identity.family_name.trim().to_owned(),
        given: identity.given_name.trim().to_owned(),
        birthdate: identity.date_of_birth,
        postcode: identity.postcode().map(str::to_owned),
        history: true,
        fuzzy: false,
        max_results: None,
    };
    match step {
        SearchStep::NoFuzzyWithHistory => Some(base),
        SearchStep::NoFuzzyWithoutHistory => Some(PdsSearch { history: false, ..base }),
        // PDS needs two characters before the `*`; a shorter postcode cannot be wildcarded.
        SearchStep::NoFuzzyWithWildcardPostcode => {
            let postcode = wildcard(identity.postcode()?, 2, 1)?;
            Some(PdsSearch { postcode: Some(postcode), ..base })
        }
        SearchStep::NoFuzzyWithWildcardGivenName => {
            let given = wildcard(&base.given, 3, 3)?;
            Some(PdsSearch { given, ..base })
        }
        SearchStep::NoFuzzyWithWildcardFamilyName => {
            let family = wildcard(&base.family, 3, 3)?;
            Some(PdsSearch { family, ..base })
        }
    }
}

/// The first `keep` characters + `*`, or `None` when the value has `skip_at_most` characters or fewer (Mavis
/// skips names of 3 characters or fewer: the wildcard would be no broader than the name itself).
fn wildcard(value: &str, keep: usize, skip_at_most: usize) -> Option<String> {
    let value = value.trim();
    if value.chars().count() <= skip_at_most {
        return None;
    }
    Some(value.chars().take(keep).chain(['*']).collect())
}

/// The step after `step` gave `result`, exactly per the table of §11.1; `None` means stop (finish or give up).
/// `skip_step` moves on like `no_matches`; `error` and `no_postcode` always stop.
pub fn next_step(step: SearchStep, result: StepResult) -> Option<SearchStep> {
    use SearchStep::*;
    use StepResult::*;
    match (step, result) {
        (_, Error | NoPostcode) => None,
        (NoFuzzyWithHistory, NoMatches | SkipStep) => Some(NoFuzzyWithWildcardPostcode),
        (NoFuzzyWithHistory, OneMatch) => None,
        (NoFuzzyWithHistory, TooManyMatches) => Some(NoFuzzyWithoutHistory),
        (NoFuzzyWithoutHistory, _) => None,
        (NoFuzzyWithWildcardPostcode, _) => Some(NoFuzzyWithWildcardGivenName),
        (NoFuzzyWithWildcardGivenName, _) => Some(NoFuzzyWithWildcardFamilyName),
        (NoFuzzyWithWildcardFamilyName, _) => None,
    }
}

/// The distinct NHS numbers in `records`, in the order first seen.
fn distinct_numbers(records: &[SearchRecord]) -> Vec<&str> {
    let mut numbers: Vec<&str> = Vec::new();
    for number in records.iter().filter_map(|r| r.nhs_number.as_deref()) {
        if !numbers.contains(&number) {
            numbers.push(number);
        }
    }
    numbers
}

/// The step to run after `records`, or `None` when the cascade is over: the last result says stop, or more than
/// one distinct NHS number has been collected. This is also how a resumed cascade continues after its last
/// recorded step instead of repeating it.
pub fn step_after(records: &[SearchRecord]) -> Option<SearchStep> {
    let Some(last) = records.last() else { return Some(SearchStep::FIRST) };
    if distinct_numbers(records).len() > 1 {
        return None;
    }
    next_step(last.step, last.result)
}

/// What `records` mean for the changeset (§11.1 "Outcome", §11.2 "attempted").
pub fn outcome(records: &[SearchRecord]) -> CascadeOutcome {
    let numbers = distinct_numbers(records);
    let pds_nhs_number = match numbers.as_slice() {
        [only] => Some((*only).to_owned()),
        _ => None,
    };
    let only_no_postcode = matches!(records, [r] if r.result == StepResult::NoPostcode);
    CascadeOutcome { pds_nhs_number, attempted: !records.is_empty() && !only_no_postcode }
}

#[cfg(test)]
mod tests;
