//! Clients for the NHS England APIs Mavis calls through the NHS API platform (nhs-apis.md §1–3).
//!
//! - [`auth`]: the platform's application-restricted signed-JWT auth, shared by every API client so one access
//!   token serves PDS and the Immunisations API (§3.2).
//! - [`pds`]: the PDS FHIR R4 client (GET by NHS number, search), which maps PDS's OperationOutcome codes to
//!   [`pds::PdsError`] so callers can follow Mavis's GET and cascade rules (§2.2, §2.4) without reading JSON.
//! - [`patient`]: the few Patient fields Mavis keeps (§1.8), parsed without I/O so fixtures can test it.
//!
//! Nothing here logs personal data, key material or tokens: only request ids and status codes.

pub mod auth;
pub mod immunisations;
mod outcome;
pub mod patient;
pub mod pds;

pub use auth::{AccessToken, ApiPlatformAuth, AuthConfig, AuthError, SecretCredentials};
pub use immunisations::{ImmsClient, ImmsError, SearchBundle, Stored};
pub use patient::{PatientParseError, PdsPatient};
pub use pds::{PdsClient, PdsError, PdsSearch, RequestIds, SearchResult};
