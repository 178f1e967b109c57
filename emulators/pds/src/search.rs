//! `GET /Patient?…`: parameter validation and matching, following the PDS rules in `nhs-apis.md` §1.4 and the
//! sandbox's order of checks (unknown parameters, malformed values, missing birthdate, missing family).
//!
//! The emulator always answers as PDS does for an application-restricted app: at most one result, and
//! `TOO_MANY_MATCHES` (inside a 200) when more than one record matches.

use chrono::{NaiveDate, Utc};
use serde_json::{Value, json};

use crate::outcome::{PdsError, too_many_matches};
use crate::store::{Dataset, Demographics, Name, Record, Status, fold, normalise_postcode, words};

const KNOWN_PARAMS: [&str; 14] = [
    "_fuzzy-match",
    "_exact-match",
    "_history",
    "_max-results",
    "family",
    "given",
    "gender",
    "birthdate",
    "death-date",
    "address-postcode",
    "address-postalcode",
    "general-practitioner",
    "email",
    "phone",
];
const REPEATABLE_PARAMS: [&str; 3] = ["given", "birthdate", "death-date"];
const MAX_FAMILY_LENGTH: usize = 35;
/// PDS refuses a wildcard in the first two characters.
const MIN_CHARS_BEFORE_WILDCARD: usize = 2;
const MINIMUM_REQUIREMENTS: &str = "Invalid search data provided - 'No searches were performed as the search criteria \
                                    did not meet the minimum requirements'";

/// A text value, exact or (with a trailing `*`) a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    text: String,
    prefix: bool,
}

impl Pattern {
    fn matches(&self, value: &str) -> bool {
        if self.prefix { value.starts_with(&self.text) } else { value == self.text }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparator {
    Eq,
    Ge,
    Le,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DateBound {
    comparator: Comparator,
    date: NaiveDate,
}

impl DateBound {
    fn holds(&self, date: NaiveDate) -> bool {
        match self.comparator {
            Comparator::Eq => date == self.date,
            Comparator::Ge => date >= self.date,
            Comparator::Le => date <= self.date,
        }
    }
}

/// A validated search.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    family: Option<Pattern>,
    /// Given-name words in order; only the last word of the first value may be a prefix.
    given: Vec<Pattern>,
    gender: Option<String>,
    birthdate: Vec<DateBound>,
    death_date: Vec<DateBound>,
    postcode: Option<Pattern>,
    general_practitioner: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    fuzzy: bool,
    exact: bool,
    history: bool,
}

/// One matching live record and its `search.score`.
#[derive(Debug)]
pub struct Hit<'a> {
    pub record: &'a Record,
    pub score: f64,
}

impl SearchQuery {
    /// Validates the decoded query pairs (repeated keys kept, in order).
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, PdsError> {
        if pairs.is_empty() {
            return Err(PdsError::UnsupportedService(
                "Invalid request with error - no search parameters were supplied".into(),
            ));
        }
        reject_unknown(pairs)?;
        // Blank values count as absent: Mavis drops them before sending, and PDS treats `family=` as no family.
        let pairs: Vec<(&str, &str)> =
            pairs.iter().map(|(k, v)| (k.as_str(), v.trim())).filter(|(_, v)| !v.is_empty()).collect();
        let all = |name: &'static str| values(&pairs, name);
        let one = |name: &'static str| single(&pairs, name);

        let postcode = match (one("address-postalcode")?, one("address-postcode")?) {
            (Some(_), Some(_)) => {
                return Err(search_data("'address-postcode' and 'address-postalcode' cannot both be supplied"));
            }
            (one, other) => one.or(other),
        };
        let birthdate = all("birthdate").map(|v| date_bound(v, "birthdate")).collect::<Result<Vec<_>, _>>()?;
        let death_date = all("death-date").map(|v| date_bound(v, "death-date")).collect::<Result<Vec<_>, _>>()?;
        let gender = one("gender")?.map(|v| v.to_lowercase());
        if let Some(g) = &gender
            && !matches!(g.as_str(), "male" | "female" | "other" | "unknown")
        {
            return Err(invalid_value(g, "gender"));
        }
        let fuzzy = boolean(one("_fuzzy-match")?, "_fuzzy-match")?;
        let exact = boolean(one("_exact-match")?, "_exact-match")?;
        let history = boolean(one("_history")?, "_history")?;
        if let Some(max) = one("_max-results")? {
            match max.parse::<u32>() {
                Ok(1) => {}
                Ok(2..=50) => {
                    let diagnostics = "Cannot retrieve more than one result with application-restricted access token";
                    return Err(PdsError::ForbiddenValue(diagnostics.into()));
                }
                _ => return Err(invalid_value(max, "_max-results")),
            }
        }
        if birthdate.is_empty() {
            return Err(PdsError::MissingValue(
                "Missing value - 'birth_date/birth_date_range_start/birth_date_range_end'".into(),
            ));
        }

        let family = one("family")?;
        if family.is_some_and(|f| f.chars().count() > MAX_FAMILY_LENGTH) {
            return Err(search_data("'name.family' is longer than 35 characters"));
        }
        let family = family.map(|f| pattern(f, "name.family", fold)).transpose()?;
        let given = given_words(&all("given").collect::<Vec<_>>())?;
        let postcode = postcode.map(|p| pattern(p, "address.postalCode", normalise_postcode)).transpose()?;

        let query = Self {
            family,
            given,
            gender,
            birthdate,
            death_date,
            postcode,
            general_practitioner: one("general-practitioner")?.map(str::to_uppercase),
            email: one("email")?.map(str::to_lowercase),
            phone: one("phone")?.map(str::to_lowercase),
            fuzzy,
            exact,
            history,
        };
        query.check_combination()?;
        Ok(query)
    }

    fn check_combination(&self) -> Result<(), PdsError> {
        let has_wildcard = self.family.iter().chain(&self.given).chain(&self.postcode).any(|p| p.prefix);
        if !self.fuzzy {
            return if self.family.is_some() {
                Ok(())
            } else {
                Err(PdsError::InvalidSearchData(MINIMUM_REQUIREMENTS.into()))
            };
        }
        if has_wildcard {
            return Err(search_data("wildcards cannot be used in a fuzzy search"));
        }
        let (family, given, gender, postcode) =
            (self.family.is_some(), !self.given.is_empty(), self.gender.is_some(), self.postcode.is_some());
        if (given && family) || (family && gender && postcode) || (given && gender && postcode) {
            Ok(())
        } else {
            Err(PdsError::InvalidSearchData(MINIMUM_REQUIREMENTS.into()))
        }
    }

    /// The score of a record against this query, or `None` when it does not match.
    fn score(&self, d: &Demographics) -> Option<f64> {
        let born = d.birth_date?;
        if !self.birthdate.iter().all(|b| b.holds(born)) {
            return None;
        }
        if !self.death_date.is_empty() && !self.death_date.iter().all(|b| d.death_date.is_some_and(|dd| b.holds(dd))) {
            return None;
        }
        if self.gender.as_ref().is_some_and(|g| d.gender.as_ref() != Some(g)) {
            return None;
        }
        let with_history = self.history || self.fuzzy;
        if let Some(postcode) = &self.postcode
            && !d.postcodes.iter().any(|p| (with_history || !p.historic) && postcode.matches(&p.value))
        {
            return None;
        }
        if let Some(gp) = &self.general_practitioner
            && !d.gp_codes.contains(gp)
        {
            return None;
        }
        if self.email.as_ref().is_some_and(|e| !d.emails.contains(e))
            || self.phone.as_ref().is_some_and(|p| !d.phones.contains(p))
        {
            return None;
        }
        if self.family.is_none() && self.given.is_empty() {
            return Some(1.0);
        }
        d.names.iter().filter(|n| with_history || !n.historic).filter_map(|n| self.name_score(n)).max_by(f64::total_cmp)
    }

    fn name_score(&self, name: &Name) -> Option<f64> {
        let family_exact = self.family.as_ref().is_none_or(|f| f.matches(&name.family));
        let given_exact = given_matches(&self.given, &name.given);
        if family_exact && given_exact {
            return Some(1.0);
        }
        if !self.fuzzy {
            return None;
        }
        // Fuzzy: sound-alike names score a little less, transposed family/given names less again.
        let first_given = name.given.first().map(String::as_str).unwrap_or_default();
        let query_given = self.given.first().map(|p| p.text.as_str());
        let query_family = self.family.as_ref().map(|p| p.text.as_str());
        let sounds =
            |query: Option<&str>, value: &str| query.is_none_or(|q| q == value || soundex(q) == soundex(value));
        if sounds(query_family, &name.family) && sounds(query_given, first_given) {
            return Some(0.9);
        }
        if query_family.is_some()
            && query_given.is_some()
            && sounds(query_family, first_given)
            && sounds(query_given, &name.family)
        {
            return Some(0.85);
        }
        None
    }

    /// Finds matching live records. Superseded records are matched on their own demographics but answered with
    /// the record that replaced them; invalidated ones are never returned.
    pub fn run<'a>(&self, data: &'a Dataset) -> Vec<Hit<'a>> {
        let hides_restricted = self.postcode.is_some() || self.general_practitioner.is_some();
        let mut hits: Vec<Hit<'a>> = Vec::new();
        for record in data.records() {
            if record.status == Status::Invalidated {
                continue;
            }
            let Some(score) = self.score(&record.demographics) else { continue };
            let Some(live) = data.resolve(record) else { continue };
            if hides_restricted && (record.demographics.restricted || live.demographics.restricted) {
                continue;
            }
            if self.exact && score < 1.0 {
                continue;
            }
            match hits.iter_mut().find(|h| h.record.nhs_number == live.nhs_number) {
                Some(existing) => existing.score = existing.score.max(score),
                None => hits.push(Hit { record: live, score }),
            }
        }
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.record.nhs_number.cmp(&b.record.nhs_number)));
        hits
    }
}

/// The 200 body: an empty or one-entry `searchset` Bundle, or `TOO_MANY_MATCHES`.
pub fn response_body(hits: &[Hit<'_>], patient_base_url: &str) -> Value {
    if hits.len() > 1 {
        return too_many_matches();
    }
    let entries: Vec<Value> = hits
        .iter()
        .map(|hit| {
            json!({
                "fullUrl": format!("{patient_base_url}/Patient/{}", hit.record.nhs_number),
                // `1`, not `1.0`, as PDS writes it
                "search": {"score": if hit.score == 1.0 { json!(1) } else { json!(hit.score) }},
                "resource": *hit.record.search_patient,
            })
        })
        .collect();
    json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": Utc::now().format("%Y-%m-%dT%H:%M:%S+00:00").to_string(),
        "total": entries.len(),
        "entry": entries,
    })
}

fn values<'a>(pairs: &[(&str, &'a str)], name: &str) -> impl Iterator<Item = &'a str> {
    pairs.iter().filter(|(k, _)| *k == name).map(|(_, v)| *v).collect::<Vec<_>>().into_iter()
}

/// The value of a parameter PDS accepts once; a repeat is `INVALID_SEARCH_DATA`.
fn single<'a>(pairs: &[(&str, &'a str)], name: &str) -> Result<Option<&'a str>, PdsError> {
    let mut found = values(pairs, name);
    let first = found.next();
    if found.next().is_some() && !REPEATABLE_PARAMS.contains(&name) {
        return Err(search_data(&format!("'{name}' may only be supplied once")));
    }
    Ok(first)
}

fn reject_unknown(pairs: &[(String, String)]) -> Result<(), PdsError> {
    let mut unknown: Vec<&str> = Vec::new();
    for (name, _) in pairs {
        if !KNOWN_PARAMS.contains(&name.as_str()) && !unknown.contains(&name.as_str()) {
            unknown.push(name);
        }
    }
    let quoted: Vec<String> = unknown.iter().map(|u| format!("'{u}'")).collect();
    match quoted.len() {
        0 => Ok(()),
        1 => Err(additional(&format!("{} was unexpected", quoted[0]))),
        _ => Err(additional(&format!("{} were unexpected", quoted.join(", ")))),
    }
}

fn additional(what: &str) -> PdsError {
    PdsError::AdditionalProperties(format!(
        "Invalid request with error - Additional properties are not allowed ({what})"
    ))
}

fn search_data(what: &str) -> PdsError {
    PdsError::InvalidSearchData(format!("Invalid search data provided - {what}"))
}

fn invalid_value(value: &str, field: &str) -> PdsError {
    PdsError::InvalidValue(format!("Invalid value - '{value}' in field '{field}'"))
}

fn boolean(value: Option<&str>, field: &str) -> Result<bool, PdsError> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(invalid_value(value.unwrap_or_default(), field)),
    }
}

fn date_bound(value: &str, field: &str) -> Result<DateBound, PdsError> {
    let (comparator, rest) = match value.get(..2) {
        Some("eq") => (Comparator::Eq, &value[2..]),
        Some("ge") => (Comparator::Ge, &value[2..]),
        Some("le") => (Comparator::Le, &value[2..]),
        _ => (Comparator::Eq, value),
    };
    let well_formed = rest.len() == 10 && rest.bytes().enumerate().all(|(i, b)| matches!(i, 4 | 7) == (b == b'-'));
    let date = well_formed.then(|| NaiveDate::parse_from_str(rest, "%Y-%m-%d").ok()).flatten();
    date.map(|date| DateBound { comparator, date }).ok_or_else(|| invalid_value(value, field))
}

/// Checks the wildcard rules and folds the text with `normalise` (names: lower case; postcodes: no spaces).
fn pattern(value: &str, field: &str, normalise: fn(&str) -> String) -> Result<Pattern, PdsError> {
    match value.find('*') {
        None => Ok(Pattern { text: normalise(value), prefix: false }),
        Some(at) if value[..at].chars().count() < MIN_CHARS_BEFORE_WILDCARD => {
            Err(search_data(&format!("'{field}' needs at least two characters before a wildcard")))
        }
        Some(at) if at + 1 != value.len() => {
            Err(search_data(&format!("'{field}' may only have a wildcard at the end")))
        }
        Some(at) => Ok(Pattern { text: normalise(&value[..at]), prefix: true }),
    }
}

/// Given names as positional words: `given=John Paul&given=James` → john, paul, james. PDS allows a wildcard only on
/// the first value, where it matches the start of the first given name.
fn given_words(values: &[&str]) -> Result<Vec<Pattern>, PdsError> {
    let mut result = Vec::new();
    for (index, value) in values.iter().enumerate() {
        let parsed = pattern(value, "name.given", fold)?;
        if parsed.prefix && index > 0 {
            return Err(search_data("'name.given' may only have a wildcard in the first given name"));
        }
        let mut value_words: Vec<Pattern> = words(&parsed.text).map(|text| Pattern { text, prefix: false }).collect();
        match value_words.last_mut() {
            Some(last) => last.prefix = parsed.prefix,
            // `given=Jo *` folds to "jo" with a prefix; a bare wildcard was already rejected.
            None => continue,
        }
        result.extend(value_words);
    }
    Ok(result)
}

fn given_matches(query: &[Pattern], given: &[String]) -> bool {
    query.len() <= given.len() && query.iter().zip(given).all(|(q, g)| q.matches(g))
}

/// American Soundex, enough for "sounds like" in fuzzy search.
fn soundex(word: &str) -> String {
    let code = |c: char| match c {
        'b' | 'f' | 'p' | 'v' => Some('1'),
        'c' | 'g' | 'j' | 'k' | 'q' | 's' | 'x' | 'z' => Some('2'),
        'd' | 't' => Some('3'),
        'l' => Some('4'),
        'm' | 'n' => Some('5'),
        'r' => Some('6'),
        _ => None,
    };
    let letters: Vec<char> = word.chars().filter(char::is_ascii_alphabetic).map(|c| c.to_ascii_lowercase()).collect();
    let Some(&first) = letters.first() else { return String::new() };
    let mut result = first.to_ascii_uppercase().to_string();
    let mut last = code(first);
    for &c in &letters[1..] {
        let current = code(c);
        if current.is_some() && current != last {
            result.extend(current);
        }
        // 'h' and 'w' do not separate equal codes; vowels do.
        if !matches!(c, 'h' | 'w') {
            last = current;
        }
    }
    format!("{result:0<4}").chars().take(4).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Result<SearchQuery, PdsError> {
        SearchQuery::parse(&pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>())
    }

    #[test]
    fn soundex_examples() {
        assert_eq!(soundex("Robert"), "R163");
        assert_eq!(soundex("Rupert"), "R163");
        assert_eq!(soundex("Ashcraft"), "A261");
        assert_eq!(soundex("Tymczak"), "T522");
        assert_eq!(soundex("Smith"), soundex("Smyth"));
    }

    #[test]
    fn wildcard_rules() {
        assert!(q(&[("family", "Sm*"), ("birthdate", "eq2010-10-22")]).is_ok());
        for bad in ["S*", "*mith", "Sm*th"] {
            let err = q(&[("family", bad), ("birthdate", "eq2010-10-22")]).unwrap_err();
            assert!(matches!(err, PdsError::InvalidSearchData(_)), "{bad}: {err:?}");
        }
        let err = q(&[("family", "Smith"), ("given", "Jo"), ("given", "Ja*"), ("birthdate", "2010-10-22")]);
        assert!(matches!(err, Err(PdsError::InvalidSearchData(_))));
    }

    #[test]
    fn order_of_checks_follows_the_sandbox() {
        assert!(matches!(q(&[]), Err(PdsError::UnsupportedService(_))));
        assert!(matches!(q(&[("surname", "x")]), Err(PdsError::AdditionalProperties(_))));
        assert!(matches!(q(&[("family", "x"), ("birthdate", "2010-13-01")]), Err(PdsError::InvalidValue(_))));
        assert!(matches!(q(&[("family", "x")]), Err(PdsError::MissingValue(_))));
        assert!(matches!(q(&[("birthdate", "eq2010-01-01")]), Err(PdsError::InvalidSearchData(_))));
        assert!(matches!(
            q(&[("family", "x"), ("birthdate", "eq2010-01-01"), ("_max-results", "2")]),
            Err(PdsError::ForbiddenValue(_))
        ));
    }

    #[test]
    fn given_words_are_positional() {
        let query = given_words(&["John Paul", "James"]).unwrap();
        let name = ["john".to_string(), "paul".into(), "james".into()];
        assert!(given_matches(&query, &name));
        assert!(!given_matches(&query, &name[..2]));
        assert!(given_matches(&given_words(&["Jen*"]).unwrap(), &["jennifer".to_string()]));
    }
}
