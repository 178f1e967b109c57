//! The vaccine catalogue (`seed/vaccines.yml`, a copy of the service's reference list): upload names, NIVS names,
//! SNOMED codes, methods and dose volumes.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::domain::Programme;

pub const CATALOGUE_YAML: &str = include_str!("../../../seed/vaccines.yml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VaccineMethod {
    Injection,
    Nasal,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Vaccine {
    /// The catalogue key (`gardasil_9`), used as the vaccine's identity in records.
    #[serde(skip)]
    pub key: String,
    #[serde(rename = "type")]
    pub programme: Programme,
    pub brand: String,
    #[serde(default)]
    pub discontinued: bool,
    pub method: VaccineMethod,
    pub manufacturer: String,
    pub upload_name: String,
    #[serde(default)]
    pub nivs_name: Option<String>,
    pub dose_volume_ml: f64,
    pub disease_types: Vec<String>,
    pub snomed_product_code: String,
    pub snomed_product_term: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VaccineCatalogue {
    pub vaccines: Vec<Vaccine>,
}

impl VaccineCatalogue {
    pub fn parse(yaml: &str) -> Result<Self, serde_yaml_ng::Error> {
        let by_key: BTreeMap<String, Vaccine> = serde_yaml_ng::from_str(yaml)?;
        let vaccines = by_key.into_iter().map(|(key, vaccine)| Vaccine { key, ..vaccine }).collect();
        Ok(Self { vaccines })
    }

    /// The bundled catalogue.
    pub fn bundled() -> Self {
        Self::parse(CATALOGUE_YAML).expect("the bundled vaccine catalogue is valid")
    }

    pub fn by_key(&self, key: &str) -> Option<&Vaccine> {
        self.vaccines.iter().find(|v| v.key == key)
    }

    /// Exact, case-sensitive match on the upload name, then on the NIVS name, among the given programmes
    /// (discontinued vaccines included), as the service matches `VACCINE_GIVEN`.
    pub fn find_for_upload(&self, name: &str, programmes: &[Programme]) -> Option<&Vaccine> {
        let offered = |v: &&Vaccine| programmes.contains(&v.programme);
        self.vaccines
            .iter()
            .filter(offered)
            .find(|v| v.upload_name == name)
            .or_else(|| self.vaccines.iter().filter(offered).find(|v| v.nivs_name.as_deref() == Some(name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_bundled_catalogue_loads_should_hold_every_programme() {
        let catalogue = VaccineCatalogue::bundled();
        assert_eq!(catalogue.vaccines.len(), 15);
        let gardasil9 = catalogue.by_key("gardasil_9").expect("Gardasil 9");
        assert_eq!(gardasil9.programme, Programme::Hpv);
        assert_eq!(gardasil9.snomed_product_code, "33493111000001108");
        assert_eq!(catalogue.by_key("fluenz").expect("Fluenz").method, VaccineMethod::Nasal);
    }

    #[test]
    fn when_uploaded_name_is_nivs_name_should_match_within_team_programmes_only() {
        let catalogue = VaccineCatalogue::bundled();
        let all = [Programme::Flu, Programme::Hpv];
        assert_eq!(catalogue.find_for_upload("AstraZeneca Fluenz LAIV", &all).map(|v| v.key.as_str()), Some("fluenz"));
        assert_eq!(catalogue.find_for_upload("Cervarix", &all).map(|v| v.key.as_str()), Some("cervarix"));
        assert!(catalogue.find_for_upload("Priorix", &all).is_none(), "MMR is not offered");
        assert!(catalogue.find_for_upload("gardasil9", &all).is_none(), "case-sensitive");
    }
}
