//! The Mavis record-import back end: everything except the thin `main.rs` of each Lambda function and the local
//! runner. See DESIGN.md (the shape), README.md (how to run it) and shared/spec/ in the steering repo (the rules).

pub mod adapters;
pub mod clock;
pub mod cloud;
pub mod config;
pub mod consumer;
pub mod csv_import;
pub mod domain;
pub mod fhir;
pub mod imms_sync;
pub mod nhs_api;
pub mod pacing;
pub mod pds;
pub mod pds_refresh;
pub mod pipeline;
pub mod ports;
pub mod reference;
pub mod review;
pub mod store;
pub mod telemetry;
pub mod web;

#[cfg(any(test, feature = "contract-tests"))]
pub mod contract_tests;
