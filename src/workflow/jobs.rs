//! The scheduled jobs that move many tickets: slot generation and
//! discovery, the approvers' Friday digest, the KPI digest.

use chrono::Days;

use super::Workflow;
use crate::domain::refresh::{RefreshEvent, RefreshStatus};
use crate::domain::{Actor, TeamId, slots_for};
use crate::store::{NewMessage, Result, StoreError};

/// How far ahead slots are generated (`000_*`: five weeks).
pub const SLOT_HORIZON_DAYS: u64 = 35;

impl Workflow {
    /// The nightly job: every team's slots from tomorrow to five weeks ahead,
    /// from its preferences. Existing and deleted slots are left alone.
    pub async fn generate_slots(&self) -> Result<usize> {
        let mut added = 0;
        for team in self.store.teams().await? {
            let cal = self.calendars.for_team(&team).map_err(|e| StoreError::Invalid(e.0))?;
            let today = cal.local(self.clock.now()).date();
            let (first, last) = (today + Days::new(1), today + Days::new(SLOT_HORIZON_DAYS));
            let prefs = self.store.slot_preferences(team.id).await?;
            for (start, end, capacity) in slots_for(&prefs, cal, first, last) {
                added += usize::from(self.store.add_slot(team.id, start, end, capacity).await?);
            }
        }
        Ok(added)
    }

    /// The twice-daily job: tickets waiting for slots are invited to pick
    /// one, oldest first, while their team has free seats that customers
    /// already invited are not counted on.
    pub async fn discover_slots(&self) -> Result<usize> {
        let now = self.clock.now();
        let waiting = self.store.refresh_in_status(RefreshStatus::PendingScheduleSlotDiscovery).await?;
        let invited = self.store.refresh_in_status(RefreshStatus::PendingCustomerScheduling).await?;
        let mut seats: std::collections::HashMap<TeamId, i64> = std::collections::HashMap::new();
        let mut moved = 0;
        for (id, team) in waiting {
            let free = match seats.get(&team) {
                Some(n) => *n,
                None => {
                    let pending = invited.iter().filter(|(_, t)| *t == team).count() as i64;
                    self.store.free_seats(team, now).await? - pending
                }
            };
            if free <= 0 {
                seats.insert(team, 0);
                continue;
            }
            match self.refresh(id, &Actor::System, RefreshEvent::SlotsAvailable).await {
                Ok(_) => moved += 1,
                Err(StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
            seats.insert(team, free - 1);
        }
        Ok(moved)
    }
}

impl Workflow {
    /// The Friday job: each approver gets one email listing the open
    /// tickets of their unit, those needing them marked (`000_*`).
    pub async fn send_digests(&self) -> Result<usize> {
        let now = self.clock.now();
        let mut sent = 0;
        for d in self.store.approver_digests().await? {
            let key = format!("digest/{}/{}", d.approver, now.format("%Y-%m-%d"));
            let payload = serde_json::json!({ "ticket": { "ref": "digest", "tickets": d.tickets }, "recipient": { "name": d.name } });
            let payload = payload.to_string();
            let m = NewMessage {
                dedupe_key: &key,
                ticket: None,
                channel: crate::domain::Channel::Email,
                recipient: &d.email,
                content: crate::domain::Template::ApprovalDigest.into(),
                payload: &payload,
                hours: Some(&d.calendar),
            };
            self.store.enqueue_due(&m, now, self.routing.release(m.hours, now)).await?;
            sent += 1;
        }
        Ok(sent)
    }
}

impl Workflow {
    /// The morning job: yesterday's KPIs (days of `tz`) to `channel`, once.
    pub async fn send_kpis(&self, channel: &crate::domain::SlackChannelId, tz: chrono_tz::Tz) -> Result<()> {
        let now = self.clock.now();
        let today = now.with_timezone(&tz).date_naive();
        let yesterday = today - Days::new(1);
        let midnight = |d| crate::calendar::day_start(d, tz);
        let kpis = self.store.kpis(midnight(yesterday), midnight(today)).await?;
        let day = yesterday.format("%a %Y-%m-%d").to_string();
        let payload = serde_json::json!({
            "ticket": { "ref": "kpi", "day": day, "kpis": kpis },
            "recipient": { "name": "service desk" },
        });
        let key = format!("kpi/{yesterday}");
        let m = NewMessage {
            dedupe_key: &key,
            ticket: None,
            channel: crate::domain::Channel::Slack,
            recipient: channel.as_str(),
            content: crate::domain::Template::KpiDigest.into(),
            payload: &payload.to_string(),
            hours: None,
        };
        self.store.enqueue(&m, now).await
    }
}

impl Workflow {
    /// The nightly lifecycle job (`001_*`): the devices in service whose
    /// term ends within the policy's horizon, each team's told once to
    /// every refresh admin with its refresh batch (a file shared in Slack,
    /// the text of an email). How many devices.
    pub async fn tell_lifecycle(&self) -> Result<usize> {
        let (now, today) = (self.clock.now(), self.today());
        let horizon_days = self.requests.horizon_days;
        let due = self.store.due_devices(today + Days::new(horizon_days.into()), false).await?;
        if due.is_empty() {
            return Ok(0);
        }
        let admins = self.store.people_with_role(crate::domain::Role::RefreshAdmin).await?;
        if admins.is_empty() {
            return Err(StoreError::Invalid("no person has the role refresh_admin to tell of devices due".into()));
        }
        let mut told = 0;
        for devices in crate::queues::by_key(due, |d| d.team.clone()) {
            let team = devices[0].team.clone();
            let csv = crate::devices::refresh_batch(&devices);
            let slug: String =
                team.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
            let file = format!("{slug}-refresh-{today}.csv");
            let ticket = serde_json::json!({
                "ref": "lifecycle", "team": team, "count": devices.len(), "horizon_days": horizon_days,
            });
            let mut keyed = Vec::new();
            for a in &admins {
                let payload = serde_json::json!({
                    "ticket": ticket,
                    "recipient": { "name": a.name, "id": a.id.0 },
                    "attachment": { "name": file, "content": csv },
                });
                let (channel, to) = a.address(false).route();
                keyed.push((format!("lifecycle/{team}/{today}/{}", a.id), channel, to, payload.to_string()));
            }
            let messages: Vec<NewMessage> = keyed
                .iter()
                .map(|(key, channel, to, payload)| NewMessage {
                    dedupe_key: key,
                    ticket: None,
                    channel: *channel,
                    recipient: to,
                    content: crate::domain::Template::LifecycleDue.into(),
                    payload,
                    hours: None,
                })
                .collect();
            let ids: Vec<i64> = devices.iter().map(|d| d.id).collect();
            self.store.tell_lifecycle(&ids, &messages, now).await?;
            told += devices.len();
        }
        Ok(told)
    }
}
