//! `deskbell serve --demo`: the shipped demo desk at work within a minute.
//! Its data is only `config/demo/directory.toml`, `config/demo/batch.csv`
//! and `config/demo/devices.csv`, applied by the same directory sync and
//! imports a real desk uses (two of the devices are near the end of their
//! term, for the nightly lifecycle job).
//! Into an empty database the batch is imported as of four days ago, so the
//! invites are due at once, and a few tickets are moved along through the
//! workflow as staff would: one awaits approval, one has been offered slots,
//! and a P1 incident opened 14 minutes ago has its pings falling due.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, Duration, Utc};

use crate::clock::SimClock;
use crate::domain::refresh::{Platform, RefreshEvent, RefreshTicket, System};
use crate::domain::service::{NewServiceTicket, Priority, ServiceKind};
use crate::domain::{Actor, TicketRef};
use crate::links::Links;
use crate::startup::Resources;

pub const DIR: &str = "config/demo";

/// Applies the demo directory; into an empty database, stages the tickets.
/// Returns the links worth opening.
pub async fn stage(res: &Resources, links: Option<&Links>, now: DateTime<Utc>) -> anyhow::Result<Vec<String>> {
    let dir = Path::new(DIR);
    res.sync_directory(&dir.join("directory.toml"), now, false).await?;
    if res.store.refresh_count().await? > 0 {
        return Ok(Vec::new());
    }
    let csv = crate::import::read_csv(&dir.join("batch.csv"))?;
    let clock = Arc::new(SimClock::new(now - Duration::days(4)));
    let workflow = res.workflow(clock.clone());
    let created = crate::import::refresh_batch(&workflow, &csv)
        .await
        .map_err(|e| anyhow::anyhow!("config/demo/batch.csv: {e}"))?;
    clock.set(now);
    let devices = crate::import::read_csv(&dir.join("devices.csv"))?;
    crate::devices::import(&res.store, &devices, res.zone, now)
        .await
        .map_err(|e| anyhow::anyhow!("config/demo/devices.csv: {e}"))?;
    workflow.generate_slots().await?;
    let walk = |t: &RefreshTicket, events: Vec<RefreshEvent>| {
        let (workflow, id) = (workflow.clone(), t.id);
        async move {
            for e in events {
                workflow.refresh(id, &Actor::System, e).await?;
            }
            anyhow::Ok(())
        }
    };
    // The first customer has walked the wizard and been offered slots.
    let offered = &created[0];
    let replacement = System { serial: "DEMO-NEW-0001".into(), model: None, platform: Platform::Windows };
    walk(
        offered,
        vec![
            RefreshEvent::WizardCompleted {
                needs_approval: false,
                location: None,
                shipping_address: None,
                answers: None,
            },
            RefreshEvent::ReplacementAssigned { system: replacement, tracking_number: None, bulk: true },
            RefreshEvent::ItsmSystemFound,
            RefreshEvent::SlotsAvailable,
        ],
    )
    .await?;
    // Another asked for a different device: the approvers are asked in Slack.
    let approval = &created[3];
    walk(
        approval,
        vec![RefreshEvent::WizardCompleted {
            needs_approval: true,
            location: None,
            shipping_address: None,
            answers: None,
        }],
    )
    .await?;
    // A P1 opened 14 minutes ago that nobody has taken.
    let contact = offered.customer.context("the demo's first ticket has a customer")?;
    let incident = NewServiceTicket {
        kind: ServiceKind::Incident,
        priority: Priority::P1,
        vip: false,
        issue_type: "User Admin".into(),
        subtype: "User - Troubleshooting".into(),
        summary: "Nobody on floor 3 can log in".into(),
        contact,
        team: offered.team,
        agency: None,
        request: None,
    };
    let earlier = res.workflow(Arc::new(SimClock::new(now - Duration::minutes(14))));
    let p1 = earlier.create_service(incident, &Actor::System).await?;
    let p1 = TicketRef::from(p1.id);
    let mut open = vec![format!("deskbell show {} (approval requested), deskbell show {p1}", approval.reference())];
    if let Some(links) = links {
        open.push(links.pick_slot(TicketRef::from(offered.id)));
    }
    Ok(open)
}
