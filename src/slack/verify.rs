//! Every request from Slack is signed: `X-Slack-Signature` is `v0=` and the
//! hex HMAC-SHA256, with the app's signing secret, of
//! `v0:{X-Slack-Request-Timestamp}:{raw body}`. A request more than five
//! minutes from now (a replay), with a missing header or a wrong signature
//! is refused before anything runs. Checked against the injected clock, so
//! the window is tested on the simulated clock.

use axum::body::{Bytes, to_bytes};
use axum::extract::{FromRequest, Request};
use chrono::{DateTime, Utc};
use secrecy::SecretString;

use crate::http::{AppState, HttpError};
use crate::signing::{same, tag};

/// Slack's bodies are small; anything larger is refused unread.
pub const MAX_BODY: usize = 64 * 1024;
const WINDOW_SECONDS: i64 = 5 * 60;

/// Why a request was not accepted as Slack's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("missing X-Slack-Request-Timestamp or X-Slack-Signature")]
    MissingHeader,
    #[error("timestamp outside the five-minute window")]
    Stale,
    #[error("signature does not match")]
    BadSignature,
}

/// The signature Slack sends for `body` at `timestamp`.
pub fn signature(secret: &SecretString, timestamp: &str, body: &[u8]) -> String {
    format!("v0={}", tag(secret, &format!("v0:{timestamp}:{}", String::from_utf8_lossy(body)), 32))
}

pub fn verify(
    secret: &SecretString,
    timestamp: Option<&str>,
    sig: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), Refused> {
    let (Some(ts), Some(sig)) = (timestamp, sig) else { return Err(Refused::MissingHeader) };
    let at: i64 = ts.parse().map_err(|_| Refused::Stale)?;
    if (now.timestamp() - at).abs() > WINDOW_SECONDS {
        return Err(Refused::Stale);
    }
    if same(&signature(secret, ts, body), sig) { Ok(()) } else { Err(Refused::BadSignature) }
}

/// The raw body of a request that Slack verifiably sent.
pub struct SlackBody(pub Bytes);

impl FromRequest<AppState> for SlackBody {
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, HttpError> {
        let secret = state.slack_signing_secret.as_ref().ok_or(HttpError::NotFound)?;
        let (ts, sig) = {
            let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
            (header("x-slack-request-timestamp"), header("x-slack-signature"))
        };
        let body = to_bytes(req.into_body(), MAX_BODY).await.map_err(|_| HttpError::TooLarge)?;
        verify(secret, ts.as_deref(), sig.as_deref(), &body, state.workflow.clock.now()).map_err(|why| {
            tracing::warn!(reason = %why, "refused a request claiming to be from Slack");
            HttpError::NotSignedBySlack
        })?;
        Ok(Self(body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_slacks_signature_within_five_minutes_only() {
        let secret = SecretString::from("8f742231b10e8888abcd99yyyzzz85a5");
        let now = DateTime::from_timestamp(1_531_420_618, 0).unwrap();
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&command=%2Fticket&text=R-12";
        let ts = "1531420618";
        let sig = signature(&secret, ts, body);
        assert!(sig.starts_with("v0=") && sig.len() == 67);
        assert_eq!(verify(&secret, Some(ts), Some(&sig), body, now), Ok(()));
        let later = now + chrono::Duration::seconds(301);
        assert_eq!(verify(&secret, Some(ts), Some(&sig), body, later), Err(Refused::Stale));
        assert_eq!(verify(&secret, Some(ts), Some(&sig), b"text=R-13", now), Err(Refused::BadSignature));
        assert_eq!(verify(&secret, None, Some(&sig), body, now), Err(Refused::MissingHeader));
        assert_eq!(verify(&SecretString::from("other"), Some(ts), Some(&sig), body, now), Err(Refused::BadSignature));
    }
}
