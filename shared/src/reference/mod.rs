//! The reference-data seed: a TOML file of teams, schools, clinics, users and sessions (format in README.md).

pub mod live;
pub mod vaccines;

use std::path::Path;

use crate::domain::ReferenceData;

/// The demo seed bundled into every binary, used when no `--seed` is given.
pub const DEMO_SEED: &str = include_str!("../../../seed/demo.toml");

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot read the seed file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("the seed file {path} is not valid: {message}")]
    Invalid { path: String, message: String },
}

/// Parses a seed and checks that its cross-references hold (every school's team exists, and so on).
pub fn parse(text: &str, path: &str) -> Result<ReferenceData, SeedError> {
    let reference: ReferenceData =
        toml::from_str(text).map_err(|e| SeedError::Invalid { path: path.into(), message: e.to_string() })?;
    check(&reference).map_err(|message| SeedError::Invalid { path: path.into(), message })?;
    Ok(reference)
}

/// The seed at `path`, or the bundled demo seed without one: what every `mavis` command's `--seed` means.
pub fn load_or_demo(path: Option<&Path>) -> Result<ReferenceData, SeedError> {
    path.map_or_else(|| Ok(demo()), load_file)
}

pub fn load_file(path: &Path) -> Result<ReferenceData, SeedError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| SeedError::Read { path: shown.clone(), source })?;
    parse(&text, &shown)
}

pub fn demo() -> ReferenceData {
    parse(DEMO_SEED, "seed/demo.toml").expect("the bundled demo seed is valid")
}

fn check(reference: &ReferenceData) -> Result<(), String> {
    let team_exists = |id: &str| reference.team(id).is_some();
    let mut seen = std::collections::HashSet::new();
    for team in &reference.teams {
        if !seen.insert(team.ods_code.to_ascii_uppercase()) {
            return Err(format!("two teams have the ODS code {}", team.ods_code));
        }
    }
    for school in &reference.schools {
        if let Some(team) = &school.team_id
            && !team_exists(team)
        {
            return Err(format!("school {} names team {team}, which is not in the seed", school.urn_and_site()));
        }
    }
    for clinic in &reference.clinics {
        if !team_exists(&clinic.team_id) {
            return Err(format!("clinic {} names team {}, which is not in the seed", clinic.id, clinic.team_id));
        }
    }
    for user in &reference.users {
        if !team_exists(&user.team_id) {
            return Err(format!("user {} names team {}, which is not in the seed", user.email, user.team_id));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn when_demo_seed_loads_should_hold_the_fixture_reference_data() {
        let demo = super::demo();
        let r1l = demo.team_by_ods("R1L").expect("R1L team");
        assert_eq!(demo.user("nurse@example.com").unwrap().team_id, r1l.id);
        assert!(demo.user("superuser@example.com").unwrap().super_admin);
        assert_ne!(demo.user("nurse2@example.com").unwrap().team_id, r1l.id);
        assert!(demo.schools_of_team(&r1l.id).any(|s| s.urn == "123456"));
        assert!(demo.generic_clinic(&r1l.id).is_some());
    }

    #[test]
    fn when_school_names_unknown_team_should_reject_seed() {
        let text = "[[schools]]\nurn = \"1\"\nname = \"x\"\nyear_groups = []\nteam_id = \"nope\"\n";
        let err = super::parse(text, "t.toml").unwrap_err().to_string();
        assert!(err.contains("names team nope"), "{err}");
    }
}
