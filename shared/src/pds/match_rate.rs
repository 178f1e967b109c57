//! The import's PDS match rate (mavis-import.md §11.2): a file whose rows mostly fail to match PDS is probably
//! wrong (columns swapped, dates misread), so Mavis rejects it rather than importing unmatched children.

use super::cascade::{SearchRecord, outcome};

/// Below this rate (in percent) the upload is rejected; exactly this rate passes.
pub const MIN_MATCH_RATE: f64 = 70.0;

/// The check applies only to imports with at least this many changesets: small files say little.
pub const MIN_CHANGESETS_FOR_MATCH_RATE: usize = 10;

/// Changesets with a PDS number ÷ changesets where a search was attempted × 100, rounded to 2 decimal places, or
/// `None` when the import has fewer than [`MIN_CHANGESETS_FOR_MATCH_RATE`] changesets (no check).
///
/// As in Mavis, the rate is 0 when nothing matched, even if no search was attempted at all (every row without a
/// postcode), so such an import is rejected. Reject when the result is below [`MIN_MATCH_RATE`].
pub fn match_rate(changesets: &[&[SearchRecord]]) -> Option<f64> {
    if changesets.len() < MIN_CHANGESETS_FOR_MATCH_RATE {
        return None;
    }
    let outcomes: Vec<_> = changesets.iter().map(|records| outcome(records)).collect();
    let matched = outcomes.iter().filter(|o| o.pds_nhs_number.is_some()).count();
    let attempted = outcomes.iter().filter(|o| o.attempted).count();
    if matched == 0 || attempted == 0 {
        return Some(0.0);
    }
    let rate = matched as f64 / attempted as f64 * 100.0;
    Some((rate * 100.0).round() / 100.0)
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::pds::cascade::{SearchStep, StepResult};

    fn one(step: SearchStep, result: StepResult, nhs: Option<&str>) -> SearchRecord {
        SearchRecord { step, result, nhs_number: nhs.map(str::to_owned), created_at: crate::clock::test_instant() }
    }

    fn matched() -> Vec<SearchRecord> {
        vec![one(SearchStep::NoFuzzyWithHistory, StepResult::OneMatch, Some("9999075320"))]
    }

    fn unmatched() -> Vec<SearchRecord> {
        vec![one(SearchStep::NoFuzzyWithHistory, StepResult::NoMatches, None)]
    }

    fn no_postcode() -> Vec<SearchRecord> {
        vec![one(SearchStep::NoFuzzyWithHistory, StepResult::NoPostcode, None)]
    }

    fn rate(sets: &[Vec<SearchRecord>]) -> Option<f64> {
        let slices: Vec<&[SearchRecord]> = sets.iter().map(Vec::as_slice).collect();
        match_rate(&slices)
    }

    fn mix(matched_n: usize, unmatched_n: usize, no_postcode_n: usize) -> Vec<Vec<SearchRecord>> {
        let mut sets = vec![matched(); matched_n];
        sets.extend(vec![unmatched(); unmatched_n]);
        sets.extend(vec![no_postcode(); no_postcode_n]);
        sets
    }

    #[test]
    fn fewer_than_ten_changesets_is_not_checked() {
        assert_eq!(rate(&mix(0, 9, 0)), None);
        assert_eq!(rate(&[]), None);
    }

    #[test]
    fn exactly_seventy_percent_passes() {
        let r = rate(&mix(7, 3, 0)).unwrap();
        assert_eq!(r, 70.0);
        assert!(r >= MIN_MATCH_RATE);
        assert!(rate(&mix(6, 4, 0)).unwrap() < MIN_MATCH_RATE);
    }

    #[test]
    fn no_postcode_changesets_are_not_attempted() {
        // 7 of 8 attempted matched; the two without a postcode count for the 10 but not in the rate.
        assert_eq!(rate(&mix(7, 1, 2)), Some(87.5));
    }

    #[test]
    fn rounds_to_two_places() {
        // 2 / 3 = 66.666…%
        let mut sets = mix(2, 1, 7);
        assert_eq!(rate(&sets), Some(66.67));
        sets.push(unmatched());
        assert_eq!(rate(&sets), Some(50.0));
    }

    #[test]
    fn zero_when_nothing_matched_or_attempted() {
        assert_eq!(rate(&mix(0, 10, 0)), Some(0.0));
        assert_eq!(rate(&mix(0, 0, 10)), Some(0.0));
    }

    #[test]
    fn several_numbers_or_empty_results_do_not_count_as_matched() {
        let two = vec![
            one(SearchStep::NoFuzzyWithWildcardPostcode, StepResult::OneMatch, Some("9990000026")),
            one(SearchStep::NoFuzzyWithWildcardGivenName, StepResult::OneMatch, Some("9435764479")),
        ];
        let mut sets = mix(8, 0, 0);
        sets.push(two);
        sets.push(Vec::new()); // never searched: not attempted
        assert_eq!(rate(&sets), Some(88.89));
    }
}
