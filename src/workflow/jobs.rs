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
        let midnight = |d: chrono::NaiveDate| {
            let local = d.and_time(chrono::NaiveTime::MIN);
            local.and_local_timezone(tz).earliest().map(|t| t.to_utc()).unwrap_or_else(|| local.and_utc())
        };
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
