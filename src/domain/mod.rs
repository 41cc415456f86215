//! The domain: types and pure state machines. Nothing here touches a
//! database, the network or the clock; `now` and the business calendar are
//! passed in, and every outcome is data (a new state plus [`Effect`]s).

pub mod access;
mod audit;
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
