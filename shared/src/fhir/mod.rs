//! FHIR Immunization resources: what this service sends to the NHS Immunisations API ([`outbound`], nhs-apis.md §5)
//! and what it reads back from searches ([`inbound`], §7.4), with the code tables both share ([`codes`]).

pub mod codes;
pub mod inbound;
pub mod outbound;

pub use codes::Variant;
pub use inbound::{ApiRecord, InboundError, from_immunization};
pub use outbound::{MappingError, RECORD_IDENTIFIER_SYSTEM, identifier, to_immunization};

#[cfg(test)]
mod tests;
