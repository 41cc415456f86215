//! Service requests (`001_*`): the kinds a desk names in policy data
//! (`config/service_requests.toml`), each with its required fields and what
//! it does to device records; an order's two approvals; and the work a
//! closed ticket records for the desk's invoice (`002_*`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::devices::{DeviceChange, DeviceState};
use crate::domain::refresh::Vote;
use crate::domain::{Email, PersonId};

/// A request kind's name, as the policy spells it (`order_new_device`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestKind(pub String);

impl std::fmt::Display for RequestKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A transaction kind's name (`hardware_repair`), from the policy's list.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TransactionKind(pub String);

impl TransactionKind {
    /// The transaction a refresh records when it completes; every policy has it.
    pub fn refresh() -> Self {
        Self("refresh".into())
    }
}

impl std::fmt::Display for TransactionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

vocabulary! {
    /// What a kind does beyond being worked: deskbell's part, which the
    /// policy's kinds pick from.
    #[derive(Default)]
    pub enum RequestAction {
        /// Worked like any request.
        #[default]
        None,
        /// Two approvals (the agency's, then the desk's) before it is worked.
        Order,
        /// Closing it gives the device its new user and location (back in
        /// service if it was a spare or in reserve).
        Move,
        /// Sanitization is recorded before it is resolved; closing it takes
        /// the devices out of service as the disposition says.
        Decommission,
    }
}

impl RequestAction {
    /// The fields this action reads, which its kind must ask for.
    pub fn reads(self) -> &'static [&'static str] {
        match self {
            Self::None | Self::Order => &[],
            Self::Move => &["serial", "new_user_name", "new_user_email", "new_location"],
            Self::Decommission => &["serials", "disposition"],
        }
    }
}

vocabulary! {
    /// Where a decommissioned device goes (`001_*`), its decommission's
    /// `disposition` field.
    pub enum Disposition {
        /// Sanitized and kept by the agency, not billed.
        Spare,
        /// Stored for disaster response, not billed.
        DisasterReserve,
        /// Removed from service.
        Surplus,
    }
}

impl Disposition {
    pub fn state(self) -> DeviceState {
        match self {
            Self::Spare => DeviceState::Spare,
            Self::DisasterReserve => DeviceState::DisasterReserve,
            Self::Surplus => DeviceState::Decommissioned,
        }
    }
}

impl RequestAction {
    /// The serials a request of this action names in `fields`, each with
    /// the field naming it: they must be managed devices.
    pub fn serials(self, fields: &BTreeMap<String, String>) -> Vec<(&'static str, String)> {
        let given = |name: &'static str| fields.get(name).map(|v| v.trim()).unwrap_or_default();
        let named = |name: &'static str| serials(given(name)).into_iter().map(move |s| (name, s));
        match self {
            Self::Move => named("serial").collect(),
            Self::Decommission => named("serials").collect(),
            Self::None | Self::Order => Vec::new(),
        }
    }
}

/// What a field takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldType {
    Text,
    Email,
    /// Serial numbers or service tags, separated by commas or spaces.
    Serials,
    /// One of these values.
    Choice(Vec<String>),
    /// A yes the requester must give (an agency's approval of the cost).
    Confirm,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub label: String,
    pub kind: FieldType,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindPolicy {
    pub name: RequestKind,
    pub label: String,
    pub action: RequestAction,
    pub fields: Vec<Field>,
    /// Closing it after work records a transaction, which it needs.
    pub billable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionPolicy {
    pub name: TransactionKind,
    pub label: String,
}

/// Who approves orders: directory groups, the desk's and each agency's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderApprovers {
    pub desk: String,
    pub agencies: BTreeMap<String, String>,
}

/// The service request policy, checked when loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestPolicy {
    pub kinds: Vec<KindPolicy>,
    pub transactions: Vec<TransactionPolicy>,
    pub approvers: OrderApprovers,
    /// Devices whose term ends within this many days are reported for refresh.
    pub horizon_days: u32,
}

impl RequestPolicy {
    pub fn kind(&self, name: &str) -> Result<&KindPolicy, String> {
        self.kinds.iter().find(|k| k.name.0 == name).ok_or_else(|| {
            let known: Vec<&str> = self.kinds.iter().map(|k| k.name.0.as_str()).collect();
            format!("no request kind is called '{name}' (known: {})", known.join(", "))
        })
    }

    pub fn transaction(&self, name: &str) -> Result<TransactionKind, String> {
        match self.transactions.iter().find(|t| t.name.0 == name) {
            Some(t) => Ok(t.name.clone()),
            None => {
                let known: Vec<&str> = self.transactions.iter().map(|t| t.name.0.as_str()).collect();
                Err(format!("no transaction kind is called '{name}' (known: {})", known.join(", ")))
            }
        }
    }
}

/// The longest value a field takes (a list of serials, an address);
/// longer is refused, not cut.
pub const MAX_FIELD: usize = 500;

/// Serial numbers as people list them: separated by commas or white space.
pub fn serials(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace()).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

impl KindPolicy {
    /// The fields as given, trimmed, if every required one is there and
    /// well formed; else every problem at once, each naming its field.
    pub fn check(&self, given: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, Vec<String>> {
        let mut errors = Vec::new();
        for name in given.keys() {
            if !self.fields.iter().any(|f| &f.name == name) {
                errors.push(format!("{name}: {} has no such field", self.name));
            }
        }
        let mut fields = BTreeMap::new();
        for f in &self.fields {
            let value = given.get(&f.name).map(|v| v.trim()).unwrap_or_default();
            let problem = match &f.kind {
                _ if value.is_empty() => Some(format!("{} is required", f.label)),
                _ if value.chars().count() > MAX_FIELD => Some(format!("is longer than {MAX_FIELD} characters")),
                FieldType::Text => None,
                FieldType::Email => Email::parse(value).err().map(|e| e.to_string()),
                FieldType::Serials => None,
                FieldType::Choice(options) if !options.iter().any(|o| o == value) => {
                    Some(format!("'{value}' is not one of {}", options.join(", ")))
                }
                FieldType::Choice(_) => None,
                FieldType::Confirm if !matches!(value.to_ascii_lowercase().as_str(), "yes" | "true") => {
                    Some(format!("{} must be confirmed (yes)", f.label))
                }
                FieldType::Confirm => None,
            };
            match problem {
                Some(p) => errors.push(format!("{}: {p}", f.name)),
                None => {
                    fields.insert(f.name.clone(), value.to_owned());
                }
            }
        }
        if errors.is_empty() { Ok(fields) } else { Err(errors) }
    }
}

vocabulary! {
    /// The two approvals of an order, in order.
    pub enum ApprovalStep {
        /// The customer agency approves the monthly cost for the full term.
        Agency,
        /// The desk approves the order.
        Desk,
    }
}

/// One step of an order's approval: who may decide it, what was decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepDecision {
    pub step: ApprovalStep,
    pub with: Vec<PersonId>,
    pub vote: Option<Vote>,
}

/// A service request on a ticket: its kind and what the policy said of it
/// when it was made, so a later policy does not change its rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceRequest {
    pub kind: RequestKind,
    pub action: RequestAction,
    pub billable: bool,
    pub fields: BTreeMap<String, String>,
    /// An order's steps; empty for other kinds.
    #[serde(default)]
    pub approval: Vec<StepDecision>,
    #[serde(default)]
    pub sanitized: Option<Sanitized>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sanitized {
    pub by: PersonId,
    pub at: DateTime<Utc>,
}

/// A new request: the kind's policy, its checked fields and, for an
/// order, who decides each step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRequest {
    pub kind: KindPolicy,
    pub fields: BTreeMap<String, String>,
    pub approvers: Vec<(ApprovalStep, Vec<PersonId>)>,
}

impl ServiceRequest {
    pub fn new(n: NewRequest) -> Self {
        let approval = n.approvers.into_iter().map(|(step, with)| StepDecision { step, with, vote: None }).collect();
        Self {
            kind: n.kind.name,
            action: n.kind.action,
            billable: n.kind.billable,
            fields: n.fields,
            approval,
            sanitized: None,
        }
    }

    /// The step awaiting a decision, if any.
    pub fn pending(&self) -> Option<&StepDecision> {
        self.approval.iter().find(|s| s.vote.is_none())
    }

    /// Why `p` may not decide the pending step, if they may not: they
    /// approved an earlier step (an order needs two people), someone else
    /// decided their step (a second click), or it is not theirs.
    pub fn refusal(&self, p: PersonId) -> Option<String> {
        let pending = self.pending()?;
        let decided = self.approval.iter().filter(|s| s.vote.is_some());
        if decided.clone().any(|s| s.vote.as_ref().and_then(|v| v.by) == Some(p)) {
            return Some(format!("you approved an earlier step; another person decides the {} step", pending.step));
        }
        if pending.with.contains(&p) {
            return None;
        }
        Some(match decided.clone().find(|s| s.with.contains(&p)) {
            Some(done) => format!("the {} approval was already given", done.step),
            None => format!("only the {} approvers decide this step", pending.step),
        })
    }

    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map(String::as_str).unwrap_or_default()
    }

    /// What closing the worked request does to device records.
    pub fn device_changes(&self) -> Vec<DeviceChange> {
        match self.action {
            RequestAction::None | RequestAction::Order => Vec::new(),
            RequestAction::Move => vec![DeviceChange::Move {
                serial: self.field("serial").to_owned(),
                user_name: self.field("new_user_name").to_owned(),
                user_email: self.field("new_user_email").to_owned(),
                location: self.field("new_location").to_owned(),
            }],
            RequestAction::Decommission => {
                // Checked against the policy's choices, which are dispositions.
                let state = self.field("disposition").parse().map_or(DeviceState::Decommissioned, Disposition::state);
                let named = self.action.serials(&self.fields).into_iter();
                named.map(|(_, serial)| DeviceChange::Retire { serial, state }).collect()
            }
        }
    }
}

/// An approver's decision on an order's step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Approve,
    /// The reason is told to the customer.
    Deny {
        reason: String,
    },
}

/// The time spent on a closed ticket and what kind of transaction it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Work {
    pub kind: TransactionKind,
    pub minutes: u32,
}
