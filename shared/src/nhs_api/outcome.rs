//! Reading FHIR `OperationOutcome` bodies. PDS signals its error (and "too many matches") only through
//! `issue[*].details.coding[*].code`, which Mavis scans the same way (nhs-apis.md §1.5).

use serde_json::Value;

/// Every `details.coding[].code` in the outcome, in order. Empty for anything that is not an OperationOutcome.
pub(crate) fn issue_codes(body: &Value) -> Vec<&str> {
    if body.get("resourceType").and_then(Value::as_str) != Some("OperationOutcome") {
        return Vec::new();
    }
    issues(body)
        .flat_map(|issue| {
            issue
                .pointer("/details/coding")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|coding| coding.get("code").and_then(Value::as_str))
        })
        .collect()
}

/// The first issue's `diagnostics`, kept for callers that need to explain an invalid search.
pub(crate) fn first_diagnostics(body: &Value) -> Option<String> {
    issues(body).find_map(|issue| issue.get("diagnostics").and_then(Value::as_str)).map(str::to_owned)
}

fn issues(body: &Value) -> impl Iterator<Item = &Value> {
    body.get("issue").and_then(Value::as_array).into_iter().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn codes_come_from_every_issue_and_coding() {
        let body = json!({"resourceType": "OperationOutcome", "issue": [
            {"details": {"coding": [{"code": "A"}, {"code": "B"}]}, "diagnostics": "first"},
            {"details": {"coding": [{"code": "C"}]}}]});
        assert_eq!(issue_codes(&body), ["A", "B", "C"]);
        assert_eq!(first_diagnostics(&body).as_deref(), Some("first"));
        assert!(issue_codes(&json!({"resourceType": "Bundle", "issue": []})).is_empty());
    }
}
