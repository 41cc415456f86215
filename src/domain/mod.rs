//! The domain: types and pure state machines. Nothing here touches a
//! database, the network or the clock; `now` and the business calendar are
//! passed in, and every outcome is data (a new state plus [`Effect`]s).

/// A closed word of the domain: stored, serialized and shown as its
/// snake_case name (`as_written`: as its variants are spelled), parsed back
/// from it, and listed by `iter()`.
macro_rules! vocabulary {
    (as_written $(#[$meta:meta])* $vis:vis enum $name:ident { $($body:tt)* }) => {
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            serde::Serialize,
            serde::Deserialize,
            strum::Display,
            strum::EnumString,
            strum::EnumIter,
            strum::IntoStaticStr,
            strum::VariantNames,
        )]
        $(#[$meta])*
        $vis enum $name { $($body)* }
    };
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($body:tt)* }) => {
        vocabulary! {
            as_written
            #[serde(rename_all = "snake_case")]
            #[strum(serialize_all = "snake_case")]
            $(#[$meta])*
            $vis enum $name { $($body)* }
        }
    };
}

pub mod access;
mod audit;
pub mod devices;
mod effect;
mod effects;
mod email;
mod error;
mod ids;
mod people;
pub mod refresh;
pub mod service;
mod slack;
mod slot;
#[cfg(test)]
mod testing;

/// What a transition may consult besides the ticket: the instant, the
/// team's business calendar, and the desk's policy for its kind of ticket.
#[derive(Debug)]
pub struct Ctx<'a, P> {
    pub now: chrono::DateTime<chrono::Utc>,
    pub calendar: &'a crate::calendar::BusinessCalendar,
    pub policy: &'a P,
}

// Only references and an instant: copied whatever the policy is.
impl<P> Clone for Ctx<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P> Copy for Ctx<'_, P> {}

pub use audit::{Actor, Audit, AuditField, Change, ExternalEvent};
pub use effect::{
    Channel, Content, Effect, ItsmAction, ItsmRequest, Notification, PingStep, Recipient, Subject, Template, Timer,
    TimerKind,
};
pub use email::{BadEmail, Email};
pub use error::DomainError;
pub use ids::{BadTicketRef, ConfigId, PersonId, RefreshTicketId, ServiceTicketId, SlotId, TeamId, TicketRef};
pub use people::{Address, ApprovedModel, ConfigOptions, Person, RefreshConfig, Role, SupportTeam};
pub use slack::{BadSlackId, SlackAction, SlackChannelId, SlackMessageRef, SlackUserId};
pub use slot::{NewSlot, ScheduleSlot, SlotPreference, slots_for};
