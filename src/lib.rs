//! deskbell: a Slack bot and notification hub for IT service desks running
//! device-refresh programs. `main.rs` only parses the command line; this
//! library is the rest, the commands included ([`cli`]).

pub mod calendar;
pub mod channels;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod devices;
pub mod directory;
pub mod domain;
pub mod http;
pub mod ics;
pub mod import;
pub mod inbound;
pub mod itsm;
pub mod links;
pub mod mail_hours;
pub mod metrics;
pub mod net;
pub mod outbox;
pub mod queues;
pub mod scheduler;
pub mod signing;
pub mod simulate;
pub mod slack;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod templates;
pub mod ticket_view;
pub mod workflow;
