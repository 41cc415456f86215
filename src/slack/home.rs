//! The App Home tab: on `app_home_opened`, and again when what it shows
//! changes (gathered for a few seconds, so a busy ticket republishes about
//! once per window), deskbell publishes (`views.publish`, through the
//! outbox) a Home for the person, by role: approvers see what awaits their
//! decision with Approve and Deny and their units' counts; refresh managers
//! and admins the Problems and counts per team; engineers and dispatchers
//! the open service tickets by SLA due time with Assign to me and
//! Acknowledge; anyone else what deskbell is and the commands they may
//! use. The view is built when it is sent, so it shows the present.
//! Its buttons are the messages' buttons: the same handler, the same
//! authorization.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::catalogue::{COMMANDS, Who};
use crate::domain::{Channel, Person, Role, Template};
use crate::store::{NewMessage, Result, Store};

/// The Home of the person with this Slack id (`None`: deskbell does not
/// know them) as the template reads it.
pub async fn context(store: &Store, person: Option<&Person>, now: DateTime<Utc>) -> Result<Value> {
    let Some(p) = person else {
        return Ok(json!({ "ticket": { "ref": "home" }, "recipient": { "name": "" }, "home": { "known": false } }));
    };
    let manages = p.has_role(Role::RefreshManager) || p.has_role(Role::RefreshAdmin);
    let approver = p.has_role(Role::Approver) || store.is_approver(p.id).await?;
    let serves = [Role::Engineer, Role::Dispatcher, Role::ServiceManager].iter().any(|r| p.has_role(*r));
    let commands: Vec<String> = COMMANDS
        .iter()
        .filter(|c| match c.who {
            Who::Staff => p.is_staff(),
            Who::RefreshManagers => manages,
            Who::Approvers => approver,
        })
        .map(|c| format!("`{} {}`: {}", c.command, c.usage, c.description))
        .collect();
    let mut home = json!({
        "known": true, "staff": p.is_staff(), "commands": commands,
        "approver": null, "problems": null, "queue": null,
    });
    if approver {
        home["approver"] = store.home_approver(p.id).await?;
    }
    if manages {
        home["problems"] = store.home_problems().await?;
    }
    if serves {
        home["queue"] = store.home_queue(now).await?.into();
    }
    Ok(json!({ "ticket": { "ref": "home" }, "recipient": { "name": p.name, "id": p.id.0 }, "home": home }))
}

/// Queues `slack_user`'s Home to be published now (they opened it).
pub async fn opened(store: &Store, slack_user: &str, event_id: &str, now: DateTime<Utc>) -> Result<()> {
    store.home_opened(slack_user, now).await?;
    let key = format!("home/{slack_user}/open/{event_id}");
    let m = NewMessage {
        dedupe_key: &key,
        ticket: None,
        channel: Channel::SlackHome,
        recipient: slack_user,
        content: Template::AppHome.into(),
        payload: "{}",
        hours: None,
    };
    store.enqueue(&m, now).await
}
