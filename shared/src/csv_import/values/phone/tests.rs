use super::*;

#[test]
fn when_number_is_uk_should_store_national_format() {
    assert_eq!(parse_phone("07412345678").as_deref(), Some("07412 345678"));
    assert_eq!(parse_phone("07412 345 679").as_deref(), Some("07412 345679"));
    assert_eq!(parse_phone("+447412345678").as_deref(), Some("07412 345678"));
    assert_eq!(parse_phone("+44 808 157 0192").as_deref(), Some("0808 157 0192"));
    assert_eq!(parse_phone("020 7123 4567").as_deref(), Some("020 7123 4567"));
    assert_eq!(parse_phone("(020) 7123-4567").as_deref(), Some("020 7123 4567"));
    assert_eq!(parse_phone("0044 20 7123 4567").as_deref(), Some("020 7123 4567"));
}

#[test]
fn when_number_is_foreign_should_store_international_format() {
    assert_eq!(parse_phone("+33 1 23 45 67 89").as_deref(), Some("+33 1 23 45 67 89"));
}

#[test]
fn when_number_is_not_valid_should_fail() {
    for text in ["invalid", "12345", "0741234567", "074123456789", "", "+44 7412", "07412 34567x"] {
        assert_eq!(parse_phone(text), None, "{text:?}");
    }
}

/// National significant numbers of `length` digits: every prefix of `prefix_digits` digits that does not start
/// with 0, each completed by `suffixes` (a digit pattern cycled to the length).
fn numbers(length: usize, prefix_digits: u32, suffixes: &[&str]) -> impl Iterator<Item = String> {
    let first = 10u64.pow(prefix_digits - 1);
    (first..first * 10).flat_map(move |prefix| {
        suffixes.iter().map(move |suffix| {
            let mut number = prefix.to_string();
            number.extend(suffix.chars().cycle().take(length - number.len()));
            number
        })
    })
}

fn assert_same_answers(numbers: impl Iterator<Item = String>) -> usize {
    let mut compared = 0;
    for national in numbers {
        for written in [format!("0{national}"), format!("+44{national}")] {
            assert!(uk::national_significant_number(&written).is_some() || national.starts_with("180020"));
            assert_eq!(parse_phone(&written), parse_with_crate(&written), "{written}");
            compared += 1;
        }
    }
    compared
}

/// Every five-digit prefix of a national significant number, each with two endings, written both ways. GB's
/// patterns look at up to six digits; `cargo bench -p shared --bench phone_numbers` compares every six-digit
/// prefix.
#[test]
fn the_fast_path_should_answer_as_the_crate_does_for_every_ten_digit_range() {
    let compared = assert_same_answers(numbers(10, 5, &["00000", "98765"]));
    assert_eq!(compared, 90_000 * 2 * 2);
}

#[test]
fn the_fast_path_should_answer_as_the_crate_does_for_every_nine_digit_range() {
    let compared = assert_same_answers(numbers(9, 5, &["0000", "9876"]));
    assert_eq!(compared, 90_000 * 2 * 2);
}

#[test]
fn the_fast_path_should_leave_other_shapes_to_the_crate() {
    for written in
        ["0044 20 7123 4567", "(020)71234567", "020-7123-4567", "+4407412345678", "07412345678x1", "074123456"]
    {
        assert_eq!(uk::national_significant_number(&compact(written)), None, "{written}");
    }
}

proptest::proptest! {
    #[test]
    fn any_text_should_get_the_crate_s_answer(text in "[+0-9 ()x-]{0,16}") {
        proptest::prop_assert_eq!(parse_phone(&text), parse_with_crate(&compact(&text)));
    }

    #[test]
    fn any_uk_shaped_number_should_get_the_crate_s_answer(prefix in "(0|\\+44|\\+ 44 )", national in "[1-9][0-9]{8,9}") {
        let written = format!("{prefix}{national}");
        proptest::prop_assert_eq!(parse_phone(&written), parse_with_crate(&compact(&written)));
    }
}
