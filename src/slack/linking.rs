//! Staff the directory names without a Slack id are linked by email
//! (`users.lookupByEmail`), as well as when they join (`team_join`): a
//! job asks Slack for a bounded number of them per run, least recently
//! asked first, and stops at Slack's first rate limit so the rest wait for
//! the next run instead of hammering a Tier 3 method.

use chrono::{DateTime, Utc};

use crate::channels::SendError;
use crate::channels::slack::SlackChannel;
use crate::store::{Result, Store};

/// Looks up at most `limit` unlinked staff; returns how many were linked
/// and how many asked about.
pub async fn link_staff(store: &Store, slack: &SlackChannel, now: DateTime<Utc>, limit: i64) -> Result<(usize, usize)> {
    let (mut linked, mut asked) = (0, 0);
    for person in store.unlinked_staff(limit).await? {
        match slack.lookup_by_email(&person.email).await {
            Ok(Some(user)) => linked += usize::from(store.link_slack(&person.email, &user).await?),
            Ok(None) => {}
            Err(SendError::RateLimited { .. }) => break,
            Err(e) => {
                tracing::warn!(email = %person.email, error = %e, "users.lookupByEmail failed");
                break;
            }
        }
        store.mark_slack_lookup(person.id, now).await?;
        asked += 1;
    }
    Ok((linked, asked))
}
