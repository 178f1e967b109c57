//! The shared value parsers (mavis-import.md §2.5): small pure functions on one normalised cell.
//!
//! Each returns the value as it is stored, or `None` when the text is not valid, so callers decide which message
//! to show: the same parser backs differently worded errors in child-record and vaccination imports.

mod date;
mod email;
mod gender;
mod integer;
mod name;
mod nhs_number;
mod phone;
mod postcode;
mod relationship;
mod time;

pub use date::parse_date;
pub use email::parse_email;
pub use gender::parse_gender;
pub use integer::parse_integer;
pub use name::{MAX_NAME_CHARS, NameProblem, check_person_name, normalise_apostrophes};
pub use nhs_number::{nhs_number_starting, parse_nhs_number, remove_whitespace};
pub use phone::parse_phone;
pub use postcode::parse_postcode;
pub use relationship::parse_relationship;
pub use time::{london_date_time, parse_time};
