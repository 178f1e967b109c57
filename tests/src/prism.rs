//! Stoplight Prism in proxy mode in front of an NHS API emulator: every request our clients send and every answer
//! the emulator gives is checked against NHS Digital's published OpenAPI specification, and each violation Prism
//! logs is collected. `scripts/prism-setup` installs Prism (pinned, into `.emulators/prism`) and writes the copies of
//! the specifications Prism needs (path keys prefixed with the APIs' base paths); the test command exports
//! `MAVIS_PRISM_DIR`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Where `scripts/prism-setup` put Prism and the specifications, or None (the test is skipped, and says so) when
/// `MAVIS_PRISM_DIR` is not set. With `MAVIS_REQUIRE_PRISM=1` (the test command) a missing Prism fails instead.
pub fn dir_or_skip(test: &str) -> Option<PathBuf> {
    match std::env::var("MAVIS_PRISM_DIR") {
        Ok(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ if std::env::var("MAVIS_REQUIRE_PRISM").as_deref() == Ok("1") => {
            panic!("{test}: MAVIS_REQUIRE_PRISM=1 but MAVIS_PRISM_DIR is not set (run scripts/prism-setup)")
        }
        _ => {
            eprintln!("{test}: skipped, MAVIS_PRISM_DIR is not set (scripts/test sets it up)");
            None
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Spec {
    Pds,
    Immunisations,
}

impl Spec {
    fn path(self, dir: &Path) -> PathBuf {
        match self {
            Spec::Pds => dir.join("specs/personal-demographics/specification/personal-demographics.yaml"),
            Spec::Immunisations => dir.join("specs/immunisation-fhir-api/specification/immunisation-fhir-api.yaml"),
        }
    }
}

/// Prism's log lines, shared by every proxy of one test (the scenarios start an emulator each).
pub type Log = Arc<Mutex<Vec<String>>>;

/// A running `prism proxy`, stopped when dropped.
pub struct Prism {
    _child: Child,
    /// Prism's address: the upstream's base URL stands behind it, so `{base_url}/personal-demographics/FHIR/R4`.
    pub base_url: String,
}

impl Prism {
    /// Starts Prism on a free port in front of `upstream` (an emulator's base URL), logging into `log`.
    pub async fn proxy(dir: &Path, spec: Spec, upstream: &str, log: &Log) -> Prism {
        let bin = dir.join("node_modules/.bin/prism");
        let mut child = Command::new(&bin)
            .arg("proxy")
            .arg(spec.path(dir))
            .arg(upstream)
            .args(["--host", "127.0.0.1", "--port", "0", "--cors=false"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let started = async {
            while let Some(line) = lines.next_line().await.expect("prism's output") {
                if let Some(at) = line.find("Prism is listening on ") {
                    return line[at + "Prism is listening on ".len()..].trim().trim_end_matches('/').to_string();
                }
            }
            panic!("prism stopped before it listened")
        };
        let base_url = tokio::time::timeout(Duration::from_secs(60), started).await.expect("prism listens within 60 s");
        let log = log.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                log.lock().expect("log").push(line);
            }
        });
        Prism { _child: child, base_url }
    }
}

/// One violation Prism reported, with the request it followed (Prism logs each request as it is received).
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub request: String,
    /// "error" or "warning" (an unmatched route or an unlisted status is only a warning, and is still a failure).
    pub severity: String,
    /// "request.query.-immunization.target", "response.body.entry.N.resource": list indexes written as N.
    pub location: String,
    pub message: String,
}

/// The requests Prism received ("GET /personal-demographics/FHIR/R4/Patient/…"), in order.
pub fn requests(log: &Log) -> Vec<String> {
    log.lock().expect("log").iter().filter_map(|line| request_of(line)).collect()
}

fn request_of(line: &str) -> Option<String> {
    let rest = &line[line.find("[HTTP SERVER] ")? + "[HTTP SERVER] ".len()..];
    let (method, rest) = rest.split_once(' ')?;
    let path = rest.split_whitespace().next()?;
    Some(format!("{} {path}", method.to_uppercase()))
}

/// Every violation in the log.
pub fn violations(log: &Log) -> Vec<Violation> {
    let mut request = String::from("(before any request)");
    let mut found = Vec::new();
    for line in log.lock().expect("log").iter() {
        if let Some(received) = request_of(line) {
            request = received;
        } else if let Some(at) = line.find("Violation: ") {
            let severity = if line.contains("✖") { "error" } else { "warning" };
            let (location, message) = line[at + "Violation: ".len()..].split_once(' ').unwrap_or((&line[at..], ""));
            found.push(Violation {
                request: request.clone(),
                severity: severity.into(),
                location: with_indexes_as_n(location),
                message: with_indexes_as_n(message),
            });
        }
    }
    found
}

/// `entry.12.resource` → `entry.N.resource`, so one rule covers every entry of a Bundle.
fn with_indexes_as_n(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(dot) = rest.find('.') {
        out.push_str(&rest[..=dot]);
        rest = &rest[dot + 1..];
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 && rest[digits..].chars().next().is_none_or(|c| c == '.' || c == ' ') {
            out.push('N');
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

/// A violation that is the specification's fault, not ours: where it is stricter than the API it describes
/// (`../shared/nhs-specs/README.md` lists them), or an echo Prism adds to another violation.
pub struct Known {
    pub location: &'static str,
    /// The message starts with this.
    pub message: &'static str,
    pub why: &'static str,
}

impl Known {
    fn covers(&self, violation: &Violation) -> bool {
        violation.location == self.location && violation.message.starts_with(self.message)
    }
}

/// The violations no rule of `known` covers.
pub fn unexpected(violations: &[Violation], known: &[Known]) -> Vec<Violation> {
    violations.iter().filter(|v| !known.iter().any(|k| k.covers(v))).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_prism_logs_violations_should_read_them_with_their_request_and_indexes_as_n() {
        let log: Log = Arc::new(Mutex::new(vec![
            "[12:43:12 AM] › [HTTP SERVER] get /immunisation-fhir-api/FHIR/R4/Immunization?x=1 ℹ  info      Request received".into(),
            "[12:43:12 AM] ›     [PROXY] ℹ  info      < Received forward response".into(),
            "[12:43:12 AM] ›     [VALIDATOR] ✖  error     Violation: response.body.entry.12.resource Response body property entry.12.resource must have required property 'recorded'".into(),
            "[12:43:13 AM] ›     [VALIDATOR] ⚠  warning   Violation: request Selected route not found".into(),
        ]));
        assert_eq!(requests(&log), ["GET /immunisation-fhir-api/FHIR/R4/Immunization?x=1"]);
        let found = violations(&log);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].location, "response.body.entry.N.resource");
        assert_eq!(found[0].message, "Response body property entry.N.resource must have required property 'recorded'");
        assert_eq!((found[1].severity.as_str(), found[1].location.as_str()), ("warning", "request"));
        let known = [Known {
            location: "response.body.entry.N.resource",
            message: "Response body property entry.N.resource must have required property",
            why: "test",
        }];
        assert_eq!(unexpected(&found, &known), vec![found[1].clone()], "only the unmatched route is left");
    }
}
