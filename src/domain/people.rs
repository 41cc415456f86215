//! People, support teams and refresh configs: the directory the workflows
//! consult to decide who is told what.

use serde::{Deserialize, Serialize};

use super::{ConfigId, Email, PersonId, SlackChannelId, SlackUserId, TeamId};

vocabulary! {
    #[derive(PartialOrd, Ord)]
    pub enum Role {
        Customer,
        Delegate,
        Approver,
        Engineer,
        Dispatcher,
        ServiceManager,
        ServiceDirector,
        RefreshManager,
        RefreshAdmin,
        SlotAdmin,
        HelpDesk,
        /// Runs deskbell itself: may replace the directory through the API.
        AppAdmin,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: PersonId,
    pub name: String,
    pub email: Email,
    pub slack_user: Option<SlackUserId>,
    pub roles: Vec<Role>,
}

/// Where one message to one person goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "channel", content = "to", rename_all = "snake_case")]
pub enum Address {
    Email(Email),
    SlackUser(SlackUserId),
    SlackChannel(SlackChannelId),
}

impl Address {
    /// The outbox channel and recipient of this address.
    pub fn route(&self) -> (super::Channel, String) {
        match self {
            Address::Email(e) => (super::Channel::Email, e.to_string()),
            Address::SlackUser(u) => (super::Channel::Slack, u.to_string()),
            Address::SlackChannel(c) => (super::Channel::Slack, c.to_string()),
        }
    }
}

impl Person {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Customers are mailed (their emails carry links and a reply address)
    /// unless `as_customer` is false; staff are reached in Slack when they
    /// have an id, else mailed.
    pub fn address(&self, as_customer: bool) -> Address {
        match (&self.slack_user, as_customer) {
            (Some(id), false) => Address::SlackUser(id.clone()),
            _ => Address::Email(self.email.clone()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportTeam {
    pub id: TeamId,
    pub name: String,
    pub slack_channel: SlackChannelId,
    /// Name of a calendar file in the calendars directory.
    pub calendar: String,
    /// Where unit-specified-location refreshes are handed over.
    pub location: Option<String>,
}

/// What a customer may change while walking the wizard (options of `000_*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConfigOptions {
    pub can_customize_computer: bool,
    pub can_customize_platform: bool,
    pub can_request_different_device: bool,
    pub can_customize_peripherals: bool,
    pub can_customize_software: bool,
}

/// A model a config's customers may be given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovedModel {
    pub model: String,
    pub platform: super::refresh::Platform,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshConfig {
    pub id: ConfigId,
    pub name: String,
    /// The active approvers, named directly or through a group.
    pub approvers: Vec<PersonId>,
    pub approved_models: Vec<ApprovedModel>,
    pub peripheral_bundle: Vec<String>,
    pub peripherals: Vec<String>,
    pub software: Vec<String>,
    pub options: ConfigOptions,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(slack: Option<&str>) -> Person {
        Person {
            id: PersonId(1),
            name: "Ann".into(),
            email: Email::parse("ann@example.edu").unwrap(),
            slack_user: slack.map(|s| SlackUserId::parse(s).unwrap()),
            roles: vec![Role::Approver],
        }
    }

    #[test]
    fn staff_with_slack_get_a_dm_customers_always_get_mail() {
        let p = person(Some("U1234ABCD"));
        assert!(matches!(p.address(false), Address::SlackUser(_)));
        assert!(matches!(p.address(true), Address::Email(_)));
        assert!(matches!(person(None).address(false), Address::Email(_)));
    }
}
