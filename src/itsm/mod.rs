//! The ITSM system: TeamDynamix (TDX). Its calls are queued in the outbox
//! like messages (channel `tdx`), so a failure is retried with backoff and
//! never loses the request; what TDX answers comes back as ticket events.

mod client;
mod sender;

pub use client::{TdxClient, TdxLogin, TdxStatus, TdxTask};
pub use sender::ItsmSender;
