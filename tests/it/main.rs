//! Integration tests: one binary, so the throwaway PostgreSQL server starts
//! once and every module shares it.

mod support;

mod approvals;
mod browser;
mod cli;
mod directory;
mod end_to_end;
mod escalation;
mod home;
mod http;
mod import;
mod inbound;
mod jobs;
mod mail_hours;
mod metrics;
mod new_desk;
mod one_transaction;
mod outbox;
mod requests;
mod scenario;
mod simulate;
mod slack_api;
mod slack_http;
mod slack_interactions;
mod socket_mode;
mod store;
mod tdx_api;
mod vocabulary;
mod wizard;
