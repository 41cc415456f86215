//! `deskbell import refresh-batch FILE.csv`: a batch of refresh tickets from
//! the serial numbers and customer data an admin gathered (`000_*`, "Refresh
//! Ticket Batch"). Every row is checked first and every bad row reported
//! with its line; only a clean file is applied, in one transaction.

use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;
use strum::VariantNames;

use crate::config::Calendars;
use crate::domain::refresh::{NewRefreshTicket, Platform, RefreshTicket, Style, System};
use crate::domain::{Actor, ConfigId, Email, Role, SupportTeam};
use crate::store::{Store, StoreError};
use crate::workflow::Workflow;

/// One CSV record as written; columns after `config` may be left out.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    serial: String,
    platform: String,
    style: String,
    team: String,
    config: String,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    customer_name: Option<String>,
    #[serde(default)]
    customer_email: Option<String>,
    #[serde(default)]
    delegate_name: Option<String>,
    #[serde(default)]
    delegate_email: Option<String>,
    #[serde(default)]
    no_customer: Option<String>,
    #[serde(default)]
    replacement_serial: Option<String>,
    #[serde(default)]
    replacement_platform: Option<String>,
    /// Where the existing system is (building and room).
    #[serde(default)]
    location: Option<String>,
}

/// A checked row: everything parsed, team and config found.
struct Row {
    line: u64,
    team: SupportTeam,
    config: ConfigId,
    customer: Option<(String, Email)>,
    delegate: Option<(String, Email)>,
    no_customer: bool,
    style: Style,
    existing: System,
    replacement: Option<System>,
    location: Option<String>,
}

#[derive(Debug)]
pub enum ImportError {
    /// Bad rows, each `line N: why`; nothing was applied.
    Rows(Vec<String>),
    Store(StoreError),
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rows(errors) => {
                write!(f, "{} bad row(s), nothing imported:\n  {}", errors.len(), errors.join("\n  "))
            }
            Self::Store(e) => write!(f, "nothing imported: {e}"),
        }
    }
}

impl std::error::Error for ImportError {}

impl From<StoreError> for ImportError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

pub(crate) fn blank_to_none(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn parse_flag(s: Option<String>) -> Result<bool, String> {
    match blank_to_none(s).map(|s| s.to_lowercase()).as_deref() {
        None | Some("false" | "no" | "0") => Ok(false),
        Some("true" | "yes" | "1") => Ok(true),
        Some(other) => Err(format!("no_customer must be true or false, not '{other}'")),
    }
}

fn contact(name: Option<String>, email: Option<String>, what: &str) -> Result<Option<(String, Email)>, String> {
    match (blank_to_none(name), blank_to_none(email)) {
        (None, None) => Ok(None),
        (name, Some(email)) => {
            let email = Email::parse(&email).map_err(|e| format!("{what}_email: {e}"))?;
            Ok(Some((name.unwrap_or_else(|| email.to_string()), email)))
        }
        (Some(_), None) => Err(format!("{what}_name is given but {what}_email is empty")),
    }
}

async fn check(store: &Store, calendars: &Calendars, line: u64, r: Record) -> Result<Row, String> {
    let serial = r.serial.trim().to_owned();
    if serial.is_empty() {
        return Err("serial is empty".into());
    }
    let parse = |what: &str, v: &str, known: &[&str]| format!("{what} '{v}' is not one of {}", known.join(", "));
    let platform: Platform =
        r.platform.trim().parse().map_err(|_| parse("platform", &r.platform, Platform::VARIANTS))?;
    let style: Style = r.style.trim().parse().map_err(|_| parse("style", &r.style, Style::VARIANTS))?;
    let team = store
        .team_by_name(r.team.trim())
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("team '{}' does not exist", r.team.trim()))?;
    calendars.for_team(&team).map_err(|e| e.0)?;
    let config = store
        .config_id(r.config.trim())
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("refresh config '{}' does not exist", r.config.trim()))?;
    let no_customer = parse_flag(r.no_customer)?;
    let customer = contact(r.customer_name, r.customer_email, "customer")?;
    if customer.is_none() && !no_customer {
        return Err("customer_email is required unless no_customer is true".into());
    }
    let delegate = contact(r.delegate_name, r.delegate_email, "delegate")?;
    let replacement = match blank_to_none(r.replacement_serial) {
        None => None,
        Some(serial) => {
            let p = blank_to_none(r.replacement_platform).unwrap_or_else(|| platform.to_string());
            let platform = p.parse().map_err(|_| parse("replacement_platform", &p, Platform::VARIANTS))?;
            Some(System { serial, model: None, platform })
        }
    };
    if let Some(open) = store.open_refresh_by_serial(&serial).await.map_err(|e| e.to_string())? {
        return Err(format!("serial {serial} already has an open ticket R-{open}"));
    }
    let existing = System { serial, model: blank_to_none(r.model), platform };
    let location = blank_to_none(r.location);
    if location.as_ref().is_some_and(|l| l.chars().count() > crate::domain::refresh::MAX_TEXT) {
        return Err(format!("location is longer than {} characters", crate::domain::refresh::MAX_TEXT));
    }
    Ok(Row { line, team, config, customer, delegate, no_customer, style, existing, replacement, location })
}

/// A CSV file's text; a byte that is not UTF-8 is named by its line.
pub fn read_csv(file: &std::path::Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    utf8(bytes).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))
}

/// A file's bytes as text, or the line and column of the first byte that
/// is not UTF-8 (a spreadsheet saved as Latin-1, say); nothing is imported.
pub fn utf8(bytes: Vec<u8>) -> Result<String, ImportError> {
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = good.iter().filter(|b| **b == b'\n').count() + 1;
        let column = good.iter().rev().take_while(|b| **b != b'\n').count() + 1;
        let byte = e.as_bytes()[good.len()];
        ImportError::Rows(vec![format!(
            "line {line}: byte 0x{byte:02X} at column {column} is not UTF-8; save the file as UTF-8 CSV"
        )])
    })
}

/// Every checked row, each key once: a bad row or a key seen on an earlier
/// line is an error naming the line, as is a file without rows; any error
/// and nothing is applied.
pub(crate) fn each_once<T, K: Eq + std::hash::Hash>(
    checked: Vec<Line<T>>,
    key: impl Fn(&T) -> (K, String),
) -> Result<Vec<(u64, T)>, ImportError> {
    let (mut rows, mut errors) = (Vec::new(), Vec::new());
    let mut seen: HashMap<K, u64> = HashMap::new();
    for (line, row) in checked {
        match row {
            Ok(row) => {
                let (k, what) = key(&row);
                match seen.insert(k, line) {
                    Some(first) => errors.push(format!("line {line}: {what} is also on line {first}")),
                    None => rows.push((line, row)),
                }
            }
            Err(why) => errors.push(format!("line {line}: {why}")),
        }
    }
    if !errors.is_empty() {
        return Err(ImportError::Rows(errors));
    }
    if rows.is_empty() {
        return Err(ImportError::Rows(vec!["the file has no rows".into()]));
    }
    Ok(rows)
}

/// A CSV record with its line number, parsed or the reason it could not be.
pub(crate) type Line<T> = (u64, Result<T, String>);

/// Every record of a CSV. A header that cannot be read is line 1's error.
pub(crate) fn read_rows<T: serde::de::DeserializeOwned>(csv_text: &str) -> Result<Vec<Line<T>>, ImportError> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(csv_text.as_bytes());
    let headers = reader.headers().map_err(|e| ImportError::Rows(vec![format!("line 1: {e}")]))?.clone();
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(true) => rows
                .push((line, record.deserialize(Some(&headers)).map_err(|e| crate::config::one_line(&e.to_string())))),
            Ok(false) => break,
            Err(e) => {
                rows.push((line, Err(crate::config::one_line(&e.to_string()))));
                if reader.position().line() == line {
                    break; // the reader cannot move past this record
                }
            }
        }
    }
    Ok(rows)
}

/// Checks every row, then creates all tickets or none.
pub async fn refresh_batch(workflow: &Workflow, csv_text: &str) -> Result<Vec<RefreshTicket>, ImportError> {
    let store = &workflow.store;
    let mut checked = Vec::new();
    for (line, record) in read_rows::<Record>(csv_text)? {
        let row = match record {
            Ok(r) => check(store, &workflow.calendars, line, r).await,
            Err(why) => Err(why),
        };
        checked.push((line, row));
    }
    let rows =
        each_once(checked, |row: &Row| (row.existing.serial.clone(), format!("serial {}", row.existing.serial)))?;
    let rows: Vec<Row> = rows.into_iter().map(|(_, row)| row).collect();

    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let customer = match &row.customer {
            Some((name, email)) => Some(store.ensure_person(name, email, Role::Customer).await?),
            None => None,
        };
        let delegate = match &row.delegate {
            Some((name, email)) => Some(store.ensure_person(name, email, Role::Delegate).await?),
            None => None,
        };
        items.push(NewRefreshTicket {
            style: row.style,
            customer,
            delegate,
            no_customer: row.no_customer,
            team: row.team.id,
            config: row.config,
            existing: row.existing.clone(),
            replacement: row.replacement.clone(),
            location: row.location.clone(),
        });
    }
    workflow
        .create_refresh_all(items, &Actor::System)
        .await
        .map_err(|(i, e)| ImportError::Rows(vec![format!("line {}: {e}", rows[i].line)]))
}

/// One replacement assignment (`000_*`, Order Group / Bulk Actions): the
/// ticket's existing serial and the system Depot assigned. A CSV row of
/// `import replacements`, or an item of `POST /api/v1/refresh/replacements`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replacement {
    pub existing_serial: String,
    pub replacement_serial: String,
    pub platform: String,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub tracking_number: Option<String>,
}

/// `deskbell import replacements FILE.csv`: see [`assign_replacements`].
pub async fn replacements(workflow: &Workflow, csv_text: &str) -> Result<Vec<RefreshTicket>, ImportError> {
    let items = read_rows::<Replacement>(csv_text)?.into_iter().map(|(line, r)| (format!("line {line}"), r)).collect();
    assign_replacements(workflow, items, &Actor::System).await
}

/// Assigns replacement systems in bulk, which advances `pending_ordering`
/// tickets to `pending_itsm_existence`. Every item (named by where it came
/// from: a line, an array index) is checked first — an open ticket, in
/// `pending_ordering`, a tracking number for at-home refreshes — and if any
/// is bad nothing changes.
pub async fn assign_replacements(
    workflow: &Workflow,
    items: Vec<(String, Result<Replacement, String>)>,
    actor: &Actor,
) -> Result<Vec<RefreshTicket>, ImportError> {
    use crate::domain::refresh::{RefreshEvent, RefreshStatus};
    let store = &workflow.store;
    let (mut events, mut errors) = (Vec::new(), Vec::new());
    let mut seen: HashMap<String, String> = HashMap::new();
    for (place, item) in items {
        let checked: Result<_, String> = async {
            let r = item?;
            let platform: Platform = r
                .platform
                .parse()
                .map_err(|_| format!("platform '{}' is not one of {}", r.platform, Platform::VARIANTS.join(", ")))?;
            if let Some(first) = seen.insert(r.existing_serial.clone(), place.clone()) {
                return Err(format!("serial {} is also in {first}", r.existing_serial));
            }
            let id = store
                .open_refresh_by_serial(&r.existing_serial)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no open ticket for serial {}", r.existing_serial))?;
            let ticket = store.load_refresh(id).await.map_err(|e| e.to_string())?.value;
            if ticket.status != RefreshStatus::PendingOrdering {
                return Err(format!("R-{id} is {}, not pending_ordering", ticket.status));
            }
            let tracking = blank_to_none(r.tracking_number);
            if ticket.style == Style::RemoteCustomer && !ticket.no_customer && tracking.is_none() {
                return Err(format!("R-{id} is an at-home refresh: tracking_number is required"));
            }
            let system = System { serial: r.replacement_serial, model: blank_to_none(r.model), platform };
            Ok((id, RefreshEvent::ReplacementAssigned { system, tracking_number: tracking, bulk: true }))
        }
        .await;
        match checked {
            Ok(change) => events.push((place, change)),
            Err(why) => errors.push(format!("{place}: {why}")),
        }
    }
    if !errors.is_empty() {
        return Err(ImportError::Rows(errors));
    }
    apply_all(workflow, events, actor).await
}

/// Applies checked events in one transaction: all of them, or none and the
/// place of the one that failed.
async fn apply_all(
    workflow: &Workflow,
    events: Vec<(String, (crate::domain::RefreshTicketId, crate::domain::refresh::RefreshEvent))>,
    actor: &Actor,
) -> Result<Vec<RefreshTicket>, ImportError> {
    let (places, events): (Vec<String>, Vec<_>) = events.into_iter().unzip();
    workflow
        .refresh_all(events, actor)
        .await
        .map_err(|(i, e)| ImportError::Rows(vec![format!("{}: {e}; nothing changed", places[i])]))
}

/// `deskbell import reschedules FILE.csv` (`ticket,slot`): moves booked
/// appointments in bulk, each with its TDX update and new-appointment email.
/// Every row is checked first; a file with a bad row changes nothing.
pub async fn reschedules(workflow: &Workflow, csv_text: &str) -> Result<Vec<RefreshTicket>, ImportError> {
    use crate::domain::refresh::{RefreshEvent, RefreshStatus};
    use crate::domain::{SlotId, TicketRef};
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Row {
        ticket: String,
        slot: i64,
    }
    let store = &workflow.store;
    let mut checked = Vec::new();
    for (line, row) in read_rows::<Row>(csv_text)? {
        let event: Result<_, String> = async {
            let row = row?;
            let Ok(TicketRef::Refresh(id)) = TicketRef::parse(&row.ticket) else {
                return Err(format!("'{}' is not a refresh ticket", row.ticket));
            };
            let ticket = store.load_refresh(id).await.map_err(|e| e.to_string())?.value;
            if ticket.status != RefreshStatus::DeliveryScheduled {
                return Err(format!("R-{id} is {}, not delivery_scheduled", ticket.status));
            }
            let slot = store.slot(SlotId(row.slot)).await.map_err(|e| e.to_string())?;
            if slot.team != ticket.team || !slot.is_free() {
                return Err(format!("slot {} is not a free slot of R-{id}'s team", row.slot));
            }
            Ok((id, RefreshEvent::Rescheduled { slot: slot.id, starts_at: slot.starts_at }))
        }
        .await;
        checked.push((line, event));
    }
    let moves = each_once(checked, |(id, _)| (*id, format!("R-{id}")))?;
    let moves = moves.into_iter().map(|(line, m)| (format!("line {line}"), m)).collect();
    apply_all(workflow, moves, &Actor::System).await
}

/// `deskbell import people FILE.csv` (`name,email[,slack_user][,roles]`,
/// roles separated by `;` or spaces): the staff and customer export of an
/// HR system or ServiceNow. Every row is checked first; a file with a bad
/// row changes nothing. People are added or updated, never deactivated
/// (that is the directory file's job).
pub async fn people(store: &Store, csv_text: &str) -> Result<crate::store::SyncReport, ImportError> {
    use crate::domain::SlackUserId;
    use crate::store::NewPerson;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Row {
        name: String,
        email: String,
        #[serde(default)]
        slack_user: Option<String>,
        #[serde(default)]
        roles: Option<String>,
    }
    let person = |r: Row| -> Result<NewPerson, String> {
        let name = blank_to_none(Some(r.name)).ok_or("name is empty")?;
        let email = Email::parse(r.email.trim()).map_err(|e| format!("email: {e}"))?;
        let slack_user = blank_to_none(r.slack_user)
            .map(|s| SlackUserId::parse(&s))
            .transpose()
            .map_err(|e| format!("slack_user: {e}"))?;
        let roles = blank_to_none(r.roles)
            .unwrap_or_default()
            .split([';', ' '])
            .filter(|r| !r.is_empty())
            .map(|r| r.parse::<Role>().map_err(|_| format!("role '{r}' is not one of {}", Role::VARIANTS.join(", "))))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(NewPerson { name, email, slack_user, roles })
    };
    let checked = read_rows::<Row>(csv_text)?.into_iter().map(|(line, row)| (line, row.and_then(person))).collect();
    let people: Vec<NewPerson> = each_once(checked, |p: &NewPerson| (p.email.clone(), p.email.to_string()))?
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    Ok(store.import_people(&people).await?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_byte_that_is_not_utf8_is_named_by_its_line() {
        let latin1 = b"serial,platform\nA1,windows\nCaf\xe9,mac\n".to_vec();
        let e = super::utf8(latin1).unwrap_err().to_string();
        assert!(e.contains("line 3: byte 0xE9 at column 4 is not UTF-8"), "{e}");
        assert_eq!(super::utf8(b"a,b\n".to_vec()).unwrap(), "a,b\n");
    }
}
