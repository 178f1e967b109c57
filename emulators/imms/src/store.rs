//! The emulator's state (`nhs-apis.md` §11, "Imms emulator"): records by id with their version, identifier, NHS
//! number, vaccine type and deletion state, and a unique index on `system#value` that keeps deleted rows, so a
//! create with a deleted record's identifier reinstates it (§4.3).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use crate::outcome::ImmsError;
use crate::validate::Facts;

/// Deletion state, as IEDS keeps it in `DeletedAt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "at")]
pub enum Deletion {
    Live,
    Deleted(DateTime<Utc>),
    /// Deleted once, then brought back by a create with its identifier or by a PUT.
    Reinstated,
}

/// One stored Immunization. `resource` is kept as sent (with `id` set), without `meta`.
#[derive(Debug, Clone, Serialize)]
pub struct StoredRecord {
    pub id: String,
    pub version: u32,
    pub identifier: Identifier,
    pub nhs_number: Option<String>,
    pub vaccine_type: String,
    pub deletion: Deletion,
    pub deleted: bool,
    pub resource: Value,
    #[serde(skip)]
    seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identifier {
    pub system: String,
    pub value: String,
}

impl StoredRecord {
    pub fn is_live(&self) -> bool {
        !matches!(self.deletion, Deletion::Deleted(_))
    }

    /// The date part of `occurrenceDateTime`, for `-date.from`/`-date.to`.
    pub fn occurrence_date(&self) -> Option<NaiveDate> {
        let text = self.resource.get("occurrenceDateTime")?.as_str()?;
        text.get(..10).and_then(crate::validate::parse_date)
    }

    pub fn is_completed(&self) -> bool {
        self.resource.get("status").and_then(Value::as_str) == Some("completed")
    }
}

/// What a successful create did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub id: String,
    pub version: u32,
    pub reinstated: bool,
}

#[derive(Debug, Default)]
pub struct Store {
    records: HashMap<String, StoredRecord>,
    /// `system#value` → id, deleted records included.
    by_identifier: HashMap<String, String>,
    next_seq: u64,
}

impl Store {
    /// POST: 422 for a live duplicate identifier, reinstatement (version + 1, old id) for a deleted one, else a new
    /// UUID at version 1.
    pub fn create(&mut self, mut resource: Value, facts: Facts) -> Result<Created, ImmsError> {
        let key = facts.identifier_key();
        if let Some(id) = self.by_identifier.get(&key).cloned()
            && let Some(existing) = self.records.get_mut(&id)
        {
            if existing.is_live() {
                return Err(ImmsError::Duplicate(key));
            }
            set_id(&mut resource, &id);
            existing.version += 1;
            existing.deletion = Deletion::Reinstated;
            existing.deleted = false;
            existing.nhs_number = facts.nhs_number;
            existing.vaccine_type = facts.vacc_type.to_owned();
            existing.resource = resource;
            return Ok(Created { id, version: existing.version, reinstated: true });
        }
        let id = uuid::Uuid::new_v4().to_string();
        set_id(&mut resource, &id);
        self.insert(id.clone(), 1, facts, resource);
        Ok(Created { id, version: 1, reinstated: false })
    }

    fn insert(&mut self, id: String, version: u32, facts: Facts, resource: Value) {
        self.next_seq += 1;
        let key = facts.identifier_key();
        let record = StoredRecord {
            id: id.clone(),
            version,
            identifier: Identifier { system: facts.identifier_system, value: facts.identifier_value },
            nhs_number: facts.nhs_number,
            vaccine_type: facts.vacc_type.to_owned(),
            deletion: Deletion::Live,
            deleted: false,
            resource,
            seq: self.next_seq,
        };
        if let Some(old) = self.records.insert(id.clone(), record) {
            self.by_identifier.remove(&format!("{}#{}", old.identifier.system, old.identifier.value));
        }
        self.by_identifier.insert(key, id);
    }

    /// A live record (deleted ones read as missing).
    pub fn read(&self, id: &str) -> Option<&StoredRecord> {
        self.records.get(id).filter(|r| r.is_live())
    }

    /// Any record, deleted ones included.
    pub fn get(&self, id: &str) -> Option<&StoredRecord> {
        self.records.get(id)
    }

    /// PUT, after the caller has checked the body id and validated the body. `etag` is the parsed `E-Tag` header.
    /// Returns the new version.
    pub fn update(&mut self, id: &str, mut resource: Value, facts: Facts, etag: u32) -> Result<u32, ImmsError> {
        let record = self.records.get_mut(id).ok_or_else(|| ImmsError::NotFound(id.to_owned()))?;
        for (name, sent, stored) in [
            ("system", &facts.identifier_system, &record.identifier.system),
            ("value", &facts.identifier_value, &record.identifier.value),
        ] {
            if sent != stored {
                return Err(ImmsError::Invariant(format!(
                    "Validation errors: identifier[0].{name} doesn't match with the stored content"
                )));
            }
        }
        // A deleted record is reinstated whatever version the caller sent (§4.3).
        if record.is_live() {
            if etag < record.version {
                return Err(ImmsError::Invariant(format!(
                    "Validation errors: The requested immunization resource {id} has changed since the last retrieve."
                )));
            }
            if etag > record.version {
                return Err(ImmsError::Invariant(format!(
                    "Validation errors: The requested immunization resource {id} version is inconsistent with the \
                     existing version."
                )));
            }
        } else {
            record.deletion = Deletion::Reinstated;
            record.deleted = false;
        }
        set_id(&mut resource, id);
        record.version += 1;
        record.nhs_number = facts.nhs_number;
        record.vaccine_type = facts.vacc_type.to_owned();
        record.resource = resource;
        Ok(record.version)
    }

    /// Logical delete; the version stays. Unknown or already deleted → 404.
    pub fn delete(&mut self, id: &str, now: DateTime<Utc>) -> Result<(), ImmsError> {
        match self.records.get_mut(id) {
            Some(record) if record.is_live() => {
                record.deletion = Deletion::Deleted(now);
                record.deleted = true;
                Ok(())
            }
            _ => Err(ImmsError::NotFound(id.to_owned())),
        }
    }

    /// Live, completed records of `nhs_number` whose type is in `types` and whose occurrence date is within the
    /// range (inclusive), oldest stored first.
    pub fn search(
        &self,
        nhs_number: &str,
        types: &[&str],
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Vec<&StoredRecord> {
        let mut hits: Vec<&StoredRecord> = self
            .records
            .values()
            .filter(|r| r.is_live() && r.is_completed())
            .filter(|r| r.nhs_number.as_deref() == Some(nhs_number))
            .filter(|r| types.contains(&r.vaccine_type.as_str()))
            .filter(|r| {
                let date = r.occurrence_date();
                from.is_none_or(|from| date.is_some_and(|d| d >= from))
                    && to.is_none_or(|to| date.is_some_and(|d| d <= to))
            })
            .collect();
        hits.sort_by_key(|r| r.seq);
        hits
    }

    /// The live record with this identifier.
    pub fn find_by_identifier(&self, system: &str, value: &str) -> Option<&StoredRecord> {
        let id = self.by_identifier.get(&format!("{system}#{value}"))?;
        self.read(id)
    }

    /// Preloads a record as given (GP history): keeps its `id` (or makes one) and `meta.versionId` (or 1). A later
    /// record with the same id or identifier replaces the earlier one.
    pub fn preload(&mut self, mut resource: Value, facts: Facts) -> String {
        let version = resource
            .get("meta")
            .and_then(|m| m.get("versionId"))
            .and_then(|v| v.as_str().and_then(|s| s.parse().ok()).or_else(|| v.as_u64().map(|n| n as u32)))
            .filter(|v| *v > 0)
            .unwrap_or(1);
        let id = match resource.get("id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => uuid::Uuid::new_v4().to_string(),
        };
        if let Some(object) = resource.as_object_mut() {
            object.remove("meta");
        }
        set_id(&mut resource, &id);
        if let Some(previous) = self.by_identifier.get(&facts.identifier_key()).cloned() {
            self.records.remove(&previous);
        }
        self.insert(id.clone(), version, facts, resource);
        id
    }

    /// Every record, oldest stored first.
    pub fn all(&self) -> Vec<&StoredRecord> {
        let mut records: Vec<&StoredRecord> = self.records.values().collect();
        records.sort_by_key(|r| r.seq);
        records
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Summary for `GET /_emulator/records`.
    pub fn listing(&self) -> Value {
        let records: Vec<Value> = self
            .all()
            .into_iter()
            .map(|r| {
                json!({
                    "id": r.id, "version": r.version, "identifier": r.identifier, "nhs_number": r.nhs_number,
                    "vaccine_type": r.vaccine_type, "deleted": r.deleted, "deletion": r.deletion, "resource": r.resource,
                })
            })
            .collect();
        json!({"count": records.len(), "records": records})
    }
}

fn set_id(resource: &mut Value, id: &str) {
    if let Some(object) = resource.as_object_mut() {
        object.insert("id".into(), Value::String(id.to_owned()));
    }
}
