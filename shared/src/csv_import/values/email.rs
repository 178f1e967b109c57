//! Parent email addresses: GOV.UK Notify's "safe email" rules, as Mavis's `NotifySafeEmailValidator`, applied to
//! the lower-cased address. Notify refuses to send to anything else, so accepting it would only fail later.

const MAX_LENGTH: usize = 320;
const MAX_HOSTNAME_LENGTH: usize = 253;

/// The address as stored (lower case), or `None` if Notify would reject it.
pub fn parse_email(text: &str) -> Option<String> {
    let email = text.trim().to_lowercase();
    is_safe(&email).then_some(email)
}

fn is_safe(email: &str) -> bool {
    let Some((local, hostname)) = email.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty() && local.chars().all(is_local_char);
    // `([^.@][^@\s]+)`: at least two characters, not starting with a dot, no further `@`, no whitespace.
    let hostname_ok = hostname.chars().count() >= 2
        && !hostname.starts_with('.')
        && !hostname.contains('@')
        && !hostname.chars().any(char::is_whitespace);
    if !local_ok || !hostname_ok || email.chars().count() > MAX_LENGTH || email.contains("..") {
        return false;
    }
    // Ruby's `split(".")` drops trailing empty parts.
    let parts: Vec<&str> = hostname.trim_end_matches('.').split('.').collect();
    hostname.len() <= MAX_HOSTNAME_LENGTH
        && parts.len() >= 2
        && parts.iter().all(|part| is_hostname_part(part))
        && parts.last().is_some_and(|tld| is_tld(tld))
}

fn is_local_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || ".!#$%&'*+/=?^_`{|}~-".contains(c)
}

/// `(xn|[a-z0-9]+)(-?-[a-z0-9]+)*`: alphanumeric runs joined by one or two hyphens.
fn is_hostname_part(part: &str) -> bool {
    part.split("--").all(|chunk| !chunk.is_empty() && chunk.split('-').all(is_alphanumeric_run))
}

/// `[a-z]{2,63}` or `xn--` followed by alphanumeric runs joined by single hyphens.
fn is_tld(tld: &str) -> bool {
    if let Some(punycode) = tld.strip_prefix("xn--") {
        return punycode.split('-').all(is_alphanumeric_run);
    }
    (2..=63).contains(&tld.len()) && tld.chars().all(|c| c.is_ascii_alphabetic())
}

fn is_alphanumeric_run(run: &str) -> bool {
    !run.is_empty() && run.chars().all(|c| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_email_is_safe_should_store_it_lower_cased() {
        assert_eq!(parse_email("john@example.com").as_deref(), Some("john@example.com"));
        assert_eq!(parse_email("Jane.Doe@Example.CO.UK").as_deref(), Some("jane.doe@example.co.uk"));
        assert_eq!(parse_email("a+b_c'd@sub-domain.example.org").as_deref(), Some("a+b_c'd@sub-domain.example.org"));
        assert_eq!(parse_email("x@xn--bcher-kva.xn--p1ai").as_deref(), Some("x@xn--bcher-kva.xn--p1ai"));
        assert_eq!(parse_email("x@a--b.com").as_deref(), Some("x@a--b.com"));
    }

    #[test]
    fn when_email_is_not_safe_should_fail() {
        for text in [
            "invalid",
            "@example.com",
            "john@",
            "john@example",
            "john@.example.com",
            "john..smith@example.com",
            "john@example..com",
            "john smith@example.com",
            "john@exa mple.com",
            "john@example.c",
            "john@example.c0m",
            "john@-example.com",
            "john@example-.com",
            "john@a---b.com",
            "jo(hn)@example.com",
            "john@exämple.com",
            "john@doe@example.com",
        ] {
            assert_eq!(parse_email(text), None, "{text:?}");
        }
    }

    #[test]
    fn when_email_is_too_long_should_fail() {
        let label = "a".repeat(63);
        let long_host = format!("{label}.{label}.{label}.{label}.com");
        assert_eq!(parse_email(&format!("x@{long_host}")), None, "hostname over 253");
        let local = "a".repeat(320);
        assert_eq!(parse_email(&format!("{local}@example.com")), None);
    }
}
