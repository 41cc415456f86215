//! Slack identifiers, parsed at the edge. A user id is `U…` or `W…`
//! (Enterprise Grid); a channel id is `C…` (public), `G…` (private) or `D…`
//! (direct message). Names like `#general` are refused: they can be renamed,
//! ids cannot.

use std::fmt;

use serde::{Deserialize, Serialize};

vocabulary! {
    /// The buttons deskbell puts in messages, by `action_id`. The templates'
    /// renderer hands these names to the templates (`actions.approve`) and the
    /// interaction handler reads them back, so the two cannot drift apart. A
    /// button may add `:<something>` to keep ids unique within a message.
    pub enum SlackAction {
        Approve,
        Deny,
        PickSlot,
        Acknowledge,
        AssignToMe,
        /// Staff give the location of a ticket nobody answered the wizard for.
        ProvideLocation,
        /// The engineer of a decommission records that its devices were sanitized.
        RecordSanitization,
    }
}

impl SlackAction {
    /// The action of an `action_id` such as `pick_slot:5`.
    pub fn of(action_id: &str) -> Option<Self> {
        action_id.split_once(':').map_or(action_id, |(name, _)| name).parse().ok()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{value}' is not a Slack {what} id")]
pub struct BadSlackId {
    pub what: &'static str,
    pub value: String,
}

fn parse_id(s: &str, prefixes: &[char], what: &'static str) -> Result<String, BadSlackId> {
    let s = s.trim();
    let ok = s.len() >= 3
        && s.len() <= 24
        && s.starts_with(prefixes)
        && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if ok { Ok(s.to_owned()) } else { Err(BadSlackId { what, value: s.to_owned() }) }
}

macro_rules! slack_id {
    ($name:ident, $prefixes:expr, $what:literal) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, BadSlackId> {
                parse_id(s, $prefixes, $what).map(Self)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = BadSlackId;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

slack_id!(SlackUserId, &['U', 'W'], "user");
slack_id!(SlackChannelId, &['C', 'G', 'D'], "channel");

/// Where a message deskbell posted lives, to edit it later: stored as
/// `channel:ts` (the outbox row's external id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackMessageRef {
    pub channel: String,
    pub ts: String,
}

impl fmt::Display for SlackMessageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.channel, self.ts)
    }
}

impl std::str::FromStr for SlackMessageRef {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some((channel, ts)) if !channel.is_empty() && !ts.is_empty() => {
                Ok(Self { channel: channel.into(), ts: ts.into() })
            }
            _ => Err(format!("'{s}' is not a Slack message (channel:ts)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_ref_round_trips_through_its_stored_text() {
        let m = SlackMessageRef { channel: "DANN00001".into(), ts: "1700000000.000001".into() };
        assert_eq!(m.to_string().parse::<SlackMessageRef>(), Ok(m));
        assert!("no-colon".parse::<SlackMessageRef>().is_err());
        assert!(":1700000000.000001".parse::<SlackMessageRef>().is_err());
    }

    #[test]
    fn parses_user_and_channel_ids() {
        assert_eq!(SlackUserId::parse("U024BE7LH").unwrap().as_str(), "U024BE7LH");
        assert!(SlackUserId::parse("W012A3CDE").is_ok());
        assert!(SlackChannelId::parse("C0123ABCD").is_ok());
    }

    #[test]
    fn rejects_names_and_wrong_kinds() {
        assert!(SlackUserId::parse("C0123ABCD").is_err());
        assert!(SlackUserId::parse("u024be7lh").is_err());
        assert!(SlackChannelId::parse("#general").is_err());
        assert!(SlackChannelId::parse("").is_err());
    }
}
