//! Domain records. Plain data with serde, stored as JSON bodies in the record store.

pub mod academic_year;
pub mod import;
pub mod names;
pub mod notice;
pub mod patient;
pub mod reference;
pub mod vaccination;

pub use academic_year::AcademicYear;
pub use import::{Import, ImportCounts, ImportKind, ImportStatus, ObjectVersion, RowError};
pub use patient::{Gender, Parent, ParentRelationship, Patient, Relationship};
pub use reference::{Clinic, Programme, ReferenceData, School, Session, Team, TeamKind, User};
