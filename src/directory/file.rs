//! A directory document as TOML (a file, errors `FILE:LINE: why`) or JSON
//! (the REST API, errors `people[3]: why`). Both have the same shape:
//! `people`, `groups`, `teams` and `configs` lists.

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::{DirConfig, DirDelegation, DirGroup, DirTeam, Directory, NewPerson, Place};
use crate::config::line;

/// The document's lists; `E` wraps each entry (`Spanned` for TOML).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc<P, G, T, C, D> {
    #[serde(default = "Vec::new")]
    people: Vec<P>,
    #[serde(default = "Vec::new")]
    groups: Vec<G>,
    #[serde(default = "Vec::new")]
    teams: Vec<T>,
    #[serde(default = "Vec::new")]
    configs: Vec<C>,
    #[serde(default = "Vec::new")]
    delegations: Vec<D>,
}

/// Reads and checks a directory file; each error names the file and line.
pub fn load(path: &Path, calendars: &[&str]) -> Result<Directory, Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| vec![format!("{}: {e}", path.display())])?;
    from_toml(&text, calendars).map_err(|errors| errors.iter().map(|e| format!("{}:{e}", path.display())).collect())
}

/// A directory from TOML text; each error starts with its line (`12: …`).
pub fn from_toml(text: &str, calendars: &[&str]) -> Result<Directory, Vec<String>> {
    type TomlDoc =
        Doc<Spanned<NewPerson>, Spanned<DirGroup>, Spanned<DirTeam>, Spanned<DirConfig>, Spanned<DirDelegation>>;
    let doc: TomlDoc = crate::config::from_toml(text).map_err(|e| vec![e])?;
    fn located<T>(text: &str, v: Vec<Spanned<T>>) -> Vec<(Place, T)> {
        v.into_iter().map(|s| (line(text, s.span().start).to_string(), s.into_inner())).collect()
    }
    Directory::check(
        located(text, doc.people),
        located(text, doc.groups),
        located(text, doc.teams),
        located(text, doc.configs),
        located(text, doc.delegations),
        calendars,
    )
}

/// A directory from a JSON body; each error names the entry (`teams[1]: …`).
pub fn from_json(body: &[u8], calendars: &[&str]) -> Result<Directory, Vec<String>> {
    let doc: Doc<NewPerson, DirGroup, DirTeam, DirConfig, DirDelegation> =
        serde_json::from_slice(body).map_err(|e| vec![format!("the body is not a directory document: {e}")])?;
    fn located<T>(list: &str, v: Vec<T>) -> Vec<(Place, T)> {
        v.into_iter().enumerate().map(|(i, x)| (format!("{list}[{i}]"), x)).collect()
    }
    Directory::check(
        located("people", doc.people),
        located("groups", doc.groups),
        located("teams", doc.teams),
        located("configs", doc.configs),
        located("delegations", doc.delegations),
        calendars,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[people]]
name = "Ann Approver"
email = "ann@acme.test"
roles = ["approver"]

[[people]]
name = "Rae Admin"
email = "rae@acme.test"
slack_user = "U0RAE0001"
roles = ["refresh_admin", "app_admin"]

[[groups]]
name = "Finance approvers"
members = ["ann@acme.test"]

[[teams]]
name = "Field Team"
slack_channel = "C0FIELD01"
calendar = "acme"
location = "Building 4, room 12"
slots = [{ weekday = "Tue", start = "09:00", length_minutes = 60, capacity = 2 }]

[[configs]]
name = "Finance 2027"
approvers = ["Finance approvers", "rae@acme.test"]
approved_models = [{ model = "ThinkPad T14", platform = "windows" }]
peripheral_bundle = ["dock"]
options = { can_customize_computer = true }
"#;

    #[test]
    fn a_good_file_reads_with_groups_as_approvers() {
        let d = from_toml(GOOD, &["acme"]).unwrap();
        assert_eq!(d.people.len(), 2);
        assert_eq!(d.teams[0].slots[0].start, chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap());
        let refs = d.configs[0].approver_refs(&d.groups);
        assert_eq!(refs[0], super::super::ApproverRef::Group("Finance approvers".into()));
        assert!(d.configs[0].options.can_customize_computer);
    }

    #[test]
    fn every_mistake_names_its_line() {
        let line_of = |text: &str, needle: &str| text[..text.find(needle).unwrap()].matches('\n').count() + 1;
        let bad =
            GOOD.replace("calendar = \"acme\"", "calendar = \"umich\"").replace("\"rae@acme.test\"]", "\"nobody\"]");
        let errors = from_toml(&bad, &["acme"]).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with(&format!("{}:", line_of(&bad, "name = \"Field Team\"") - 1)), "{errors:?}");
        assert!(errors[0].contains("calendar 'umich'"), "{errors:?}");
        assert!(errors[1].contains("'nobody' is neither an email nor a group"), "{errors:?}");

        let bad = GOOD.replace("roles = [\"approver\"]", "roles = [\"approver\", \"wizard\"]");
        let errors = from_toml(&bad, &["acme"]).unwrap_err();
        assert!(errors[0].starts_with(&format!("{}:", line_of(&bad, "\"wizard\""))), "{errors:?}");
        assert!(errors[0].contains("wizard"), "{errors:?}");

        let bad = GOOD.replace("start = \"09:00\"", "start = \"9am\"");
        assert!(from_toml(&bad, &["acme"]).unwrap_err()[0].contains("'9am' is not a time of day"));
        let bad = GOOD.replace("email = \"rae@acme.test\"", "email = \"ann@acme.test\"");
        assert!(from_toml(&bad, &["acme"]).unwrap_err()[0].contains("ann@acme.test is also at"));
    }

    #[test]
    fn json_errors_name_the_entry() {
        let body = br#"{"people": [{"name": "A", "email": "a@x.test"}], "teams": [{"name": "T", "slack_channel": "C0T000001", "calendar": "nope"}]}"#;
        let errors = from_json(body, &["acme"]).unwrap_err();
        assert!(errors[0].starts_with("teams[0]: "), "{errors:?}");
        assert!(from_json(b"{\"people\": 3}", &[]).unwrap_err()[0].contains("not a directory document"));
    }
}
