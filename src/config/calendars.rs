//! Business calendars, one TOML file each in the calendars directory
//! (`config/calendars/<name>.toml`); support teams name theirs.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::{ConfigError, one_line};
use crate::calendar::{BusinessCalendar, CalendarFile};
use crate::domain::SupportTeam;

#[derive(Debug, Clone, Default)]
pub struct Calendars(HashMap<String, Arc<BusinessCalendar>>);

impl Calendars {
    /// Loads every `*.toml` in `dir`; a missing directory is an empty set.
    pub fn load_dir(dir: &Path) -> Result<Self, ConfigError> {
        let mut map = HashMap::new();
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(Self(map));
        };
        let mut paths: Vec<_> =
            entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "toml")).collect();
        paths.sort();
        for path in paths {
            let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
            let fail = |why: String| ConfigError(format!("{}: {why}", path.display()));
            let text = std::fs::read_to_string(&path).map_err(|e| fail(e.to_string()))?;
            let file: CalendarFile = toml::from_str(&text).map_err(|e| fail(one_line(&e.to_string())))?;
            map.insert(name.clone(), Arc::new(file.into_calendar(&name).map_err(fail)?));
        }
        Ok(Self(map))
    }

    pub fn insert(&mut self, calendar: BusinessCalendar) {
        self.0.insert(calendar.name.clone(), Arc::new(calendar));
    }

    /// Every calendar, in name order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<BusinessCalendar>> {
        let mut all: Vec<_> = self.0.values().collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all.into_iter()
    }

    pub fn names(&self) -> Vec<&str> {
        self.iter().map(|c| c.name.as_str()).collect()
    }

    pub fn get(&self, name: &str) -> Option<&Arc<BusinessCalendar>> {
        self.0.get(name)
    }

    /// The team's calendar, or an error naming the team and the calendar.
    pub fn for_team(&self, team: &SupportTeam) -> Result<&Arc<BusinessCalendar>, ConfigError> {
        self.of_team(&team.name, &team.calendar)
    }

    /// The calendar `calendar` of the team called `team`, or an error
    /// naming both.
    pub fn of_team(&self, team: &str, calendar: &str) -> Result<&Arc<BusinessCalendar>, ConfigError> {
        self.get(calendar).ok_or_else(|| {
            ConfigError(format!("team '{team}' uses calendar '{calendar}', which is not in the calendars directory"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_calendars_and_names_the_file_and_line_of_a_bad_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("umich.toml"), "time_zone = \"America/Detroit\"\nholidays = [2026-11-26]\n")
            .unwrap();
        let cals = Calendars::load_dir(dir.path()).unwrap();
        let c = cals.get("umich").unwrap();
        assert!(!c.is_business_day(chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()));

        std::fs::write(dir.path().join("bad.toml"), "time_zone = \"America/Detroit\"\n\nweekend = [\"Funday\"]\n")
            .unwrap();
        let err = Calendars::load_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains("bad.toml") && err.contains("line 3"), "{err}");
    }

    #[test]
    fn an_unknown_time_zone_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.toml"), "time_zone = \"Mars/Olympus\"\n").unwrap();
        assert!(Calendars::load_dir(dir.path()).unwrap_err().to_string().contains("x.toml"));
    }
}
