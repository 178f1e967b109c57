//! UK numbers without the `phonenumber` parser: the crate's GB, GG, IM and JE patterns and GB's formats, compiled
//! once into plain regexes and applied the way the crate applies them (`validator::is_valid_with`, `formatter`).

use std::sync::LazyLock;

use phonenumber::metadata::{DATABASE, Descriptor, Format, Metadata};
use regex::{Regex, RegexBuilder};

use super::UK_COUNTRY_CODE;

/// Where the crate reads the number the same way: `0` (the national prefix) or `+44`, then nine or ten digits of
/// national significant number that do not start with `0` (which the crate would strip again) or with `180020`
/// (GB's other national prefix for parsing).
pub(super) fn national_significant_number(compact: &str) -> Option<&str> {
    let national = compact.strip_prefix("+44").or_else(|| compact.strip_prefix('0'))?;
    let shaped = matches!(national.len(), 9 | 10)
        && national.bytes().all(|b| b.is_ascii_digit())
        && !national.starts_with('0')
        && !national.starts_with("180020");
    shaped.then_some(national)
}

pub(super) fn numbering() -> &'static UkNumbering {
    static NUMBERING: LazyLock<UkNumbering> = LazyLock::new(UkNumbering::from_crate);
    &NUMBERING
}

pub(super) struct UkNumbering {
    /// The regions sharing +44, in the crate's order, which decides which region's patterns a number is read by.
    regions: Vec<Region>,
    formats: Vec<NationalFormat>,
}

struct Region {
    leading_digits: Option<Regex>,
    general: Pattern,
    /// The number kinds (mobile, fixed line…), those with the same lengths joined into one alternation: a number
    /// is of some kind when one of these matches, which takes one search instead of one a kind.
    kinds: Vec<Pattern>,
}

/// A descriptor's national number pattern and lengths (`Descriptor::is_match`).
struct Pattern {
    regex: Regex,
    lengths: Vec<u16>,
}

/// One of GB's national formats with the national prefix rule already applied to its template.
struct NationalFormat {
    leading_digits: Option<Regex>,
    pattern: Regex,
    template: String,
}

impl UkNumbering {
    fn from_crate() -> Self {
        let regions = DATABASE
            .region(&UK_COUNTRY_CODE)
            .expect("the crate knows +44")
            .into_iter()
            .map(|id| Region::of(DATABASE.by_id(id).expect("each +44 region has metadata")))
            .collect();
        let formatting = DATABASE
            .by_code(&UK_COUNTRY_CODE)
            .and_then(|m| m.into_iter().next())
            .expect("the crate formats +44 numbers");
        let formats = formatting.formats().iter().map(|f| NationalFormat::of(formatting, f)).collect();
        UkNumbering { regions, formats }
    }

    /// The number as stored (national format), or `None` when it is not valid.
    pub(super) fn stored(&self, national: &str) -> Option<String> {
        let region = self.region_of(national)?;
        if !region.is_known_kind(national) {
            return None;
        }
        Some(self.national_format(national))
    }

    /// `validator::source_for`: the first region whose leading digits start the number, or (for a region without
    /// leading digits) whose patterns know it.
    fn region_of(&self, national: &str) -> Option<&Region> {
        self.regions.iter().find(|region| match &region.leading_digits {
            Some(leading) => starts(leading, national),
            None => region.is_known_kind(national),
        })
    }

    fn national_format(&self, national: &str) -> String {
        let chosen = self.formats.iter().find(|format| match &format.leading_digits {
            None => true,
            Some(leading) => starts(leading, national) && whole(&format.pattern, national),
        });
        match chosen {
            Some(format) => format.pattern.replace(national, format.template.as_str()).into_owned(),
            None => national.to_string(),
        }
    }
}

impl Region {
    fn of(meta: &Metadata) -> Self {
        let descriptors = meta.descriptors();
        let kinds = [
            descriptors.premium_rate(),
            descriptors.toll_free(),
            descriptors.shared_cost(),
            descriptors.voip(),
            descriptors.personal_number(),
            descriptors.pager(),
            descriptors.uan(),
            descriptors.voicemail(),
            descriptors.fixed_line(),
            descriptors.mobile(),
        ];
        let mut by_lengths: Vec<(Vec<u16>, Vec<&str>)> = Vec::new();
        for kind in kinds.into_iter().flatten() {
            let source = kind.national_number().as_str();
            match by_lengths.iter_mut().find(|(lengths, _)| lengths.as_slice() == kind.possible_length()) {
                Some((_, sources)) => sources.push(source),
                None => by_lengths.push((kind.possible_length().to_vec(), vec![source])),
            }
        }
        Region {
            leading_digits: meta.leading_digits().map(|r| compile(r.as_str())),
            general: Pattern::of(descriptors.general()),
            kinds: by_lengths
                .into_iter()
                .map(|(lengths, sources)| {
                    let alternatives: Vec<String> = sources.iter().map(|s| format!("(?:{s})")).collect();
                    Pattern { regex: compile(&alternatives.join("|")), lengths }
                })
                .collect(),
        }
    }

    /// `validator::number_type(..) != Type::Unknown`.
    fn is_known_kind(&self, national: &str) -> bool {
        self.general.matches(national) && self.kinds.iter().any(|kind| kind.matches(national))
    }
}

impl Pattern {
    fn of(descriptor: &Descriptor) -> Self {
        Pattern {
            regex: compile(descriptor.national_number().as_str()),
            lengths: descriptor.possible_length().to_vec(),
        }
    }

    fn matches(&self, national: &str) -> bool {
        let length_possible = self.lengths.is_empty() || self.lengths.iter().any(|&l| usize::from(l) == national.len());
        length_possible && starts(&self.regex, national)
    }
}

impl NationalFormat {
    /// `formatter::replace` with the format's national prefix rule: `$NP` is the region's national prefix and
    /// `$FG` the template's first group.
    fn of(meta: &Metadata, format: &Format) -> Self {
        static FIRST_GROUP: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(\$\d)").expect("a valid pattern"));
        let template = match format.national_prefix() {
            None => format.format().to_string(),
            Some(rule) => {
                let first = FIRST_GROUP.captures(format.format()).and_then(|c| c.get(1)).map_or("", |m| m.as_str());
                let rule = rule
                    .replace("$NP", meta.national_prefix().unwrap_or(""))
                    .replace("$FG", &format!("${first}"))
                    .replace("$CC", "");
                FIRST_GROUP.replace(format.format(), rule.as_str()).into_owned()
            }
        };
        NationalFormat {
            leading_digits: format.leading_digits().last().map(|r| compile(r.as_str())),
            pattern: compile(format.pattern().as_str()),
            template,
        }
    }
}

/// The crate's patterns are written with insignificant whitespace. Each is anchored at the start: the crate keeps
/// only a leftmost match that starts the text, which is the match the anchored pattern finds, and an anchored
/// search stops at the first digit that cannot start a match instead of trying every later position.
fn compile(source: &str) -> Regex {
    RegexBuilder::new(&format!("^(?:{source})")).ignore_whitespace(true).build().expect("the crate's patterns compile")
}

/// The crate's `find(..).start() == 0`.
fn starts(regex: &Regex, text: &str) -> bool {
    regex.is_match(text)
}

/// The crate's `find(..)` starting at 0 and spanning the whole text.
fn whole(regex: &Regex, text: &str) -> bool {
    regex.find(text).is_some_and(|m| m.end() == text.len())
}
