//! Switches for client-compatibility tests (`nhs-apis.md` §11): behaviours of older or other deployments of the
//! service that a robust client must survive. All off by default; set at runtime with `POST /_emulator/compat`.

use serde::{Deserialize, Serialize};

use crate::outcome::operation_outcome;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Compat {
    /// Answer 201 without `E-Tag`, as before April 2026 (clients then fall back to version 1).
    pub omit_etag_on_create: bool,
    /// `Location: …/immunisation-fhir-api/Immunization/{id}`, without `/FHIR/R4`, as older environments answer.
    pub legacy_location: bool,
    /// Self links also carry the legacy `immunization.target` key.
    pub legacy_target_key: bool,
    /// An OperationOutcome entry added to every patient search Bundle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle_outcome: Option<BundleOutcome>,
}

/// The issue of an injected Bundle OperationOutcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleOutcome {
    /// `fatal`, `error`, `warning`, `information` or `success`.
    pub severity: String,
    #[serde(default = "default_code")]
    pub code: String,
    pub diagnostics: String,
}

fn default_code() -> String {
    "informational".into()
}

impl Compat {
    pub fn validate(&self) -> Result<(), String> {
        match &self.bundle_outcome {
            Some(outcome)
                if !["fatal", "error", "warning", "information", "success"].contains(&outcome.severity.as_str()) =>
            {
                Err("bundle_outcome.severity must be fatal, error, warning, information or success".into())
            }
            _ => Ok(()),
        }
    }
}

impl BundleOutcome {
    pub fn resource(&self) -> serde_json::Value {
        operation_outcome(&self.severity, &self.code, &self.code.to_uppercase(), &self.diagnostics)
    }
}

/// The older Location base: the base path without its trailing `/FHIR/R4`.
pub fn legacy_base(api_base: &str) -> &str {
    api_base.strip_suffix("/FHIR/R4").unwrap_or(api_base)
}
