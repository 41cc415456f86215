//! Where messages leave deskbell: email and Slack. Each channel turns its
//! service's failures into a [`SendError`] the dispatcher acts on, so retry
//! policy lives in one place.

pub mod email;
pub mod reply_token;
pub mod slack;
mod smtp_pool;

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Retrying cannot help (unknown channel, bad credentials, SMTP 5xx).
    #[error("permanent: {0}")]
    Permanent(String),
    /// Worth another attempt later (timeouts, 5xx from Slack, SMTP 4xx).
    #[error("transient: {0}")]
    Transient(String),
    /// The service asked us to wait (HTTP 429 with `Retry-After`).
    #[error("rate limited for {retry_after:?}")]
    RateLimited { retry_after: Duration },
}
