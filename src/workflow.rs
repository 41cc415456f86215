//! Applying refresh events the one way: load the ticket, take its team's
//! business calendar and the cadence, run the pure transition, commit it
//! with its effects. The timer tick, the cron jobs, the CLI and Slack all
//! change refresh tickets through here.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Calendars;
use chrono::Days;

use crate::domain::refresh::{Cadence, Ctx, RefreshEvent, RefreshStatus, RefreshTicket};
use crate::domain::service::policy::EscalationPolicy;
use crate::domain::service::{NewServiceTicket, ServiceCtx, ServiceEvent, ServiceTicket};
use crate::domain::{Actor, RefreshTicketId, ServiceTicketId, SlotId, TeamId, slots_for};
use crate::store::{NewMessage, RefreshChange, Result, Routing, ServiceMove, Store, StoreError};

#[derive(Clone)]
pub struct Workflow {
    pub store: Store,
    pub calendars: Arc<Calendars>,
    pub cadence: Arc<Cadence>,
    pub routing: Routing,
    pub clock: Arc<dyn Clock>,
    pub policy: Arc<EscalationPolicy>,
}

impl Workflow {
    /// The calendar of a team, or an error naming both.
    pub async fn calendar(&self, team: TeamId) -> Result<Arc<crate::calendar::BusinessCalendar>> {
        let team = self.store.team(team).await?;
        self.calendars.for_team(&team).cloned().map_err(|e| StoreError::Invalid(e.0))
    }

    pub async fn refresh(&self, id: RefreshTicketId, actor: &Actor, event: RefreshEvent) -> Result<RefreshTicket> {
        let mut done = self.refresh_all(vec![(id, event)], actor).await.map_err(|(_, e)| e)?;
        Ok(done.pop().expect("one change in, one ticket out"))
    }

    /// Applies every event to its own ticket in one transaction: all of
    /// them, or (the first failure, by its 0-based index) none.
    pub async fn refresh_all(
        &self,
        events: Vec<(RefreshTicketId, RefreshEvent)>,
        actor: &Actor,
    ) -> Result<Vec<RefreshTicket>, (usize, StoreError)> {
        let now = self.clock.now();
        let mut loaded = Vec::with_capacity(events.len());
        for (i, (id, event)) in events.into_iter().enumerate() {
            let current = self.store.load_refresh(id).await.map_err(|e| (i, e))?;
            let calendar = self.calendar(current.value.team).await.map_err(|e| (i, e))?;
            let ctx = Ctx { now, calendar: &calendar, cadence: &self.cadence };
            let (next, effects) = current.value.apply(event, &ctx).map_err(|e| (i, e.into()))?;
            loaded.push((current, next, effects, calendar));
        }
        let changes: Vec<RefreshChange> = loaded
            .iter()
            .map(|(current, next, effects, calendar)| RefreshChange {
                current,
                next,
                effects,
                calendar: Some(calendar),
            })
            .collect();
        self.store.save_refresh_all(&changes, actor, now, &self.routing).await?;
        Ok(loaded.into_iter().map(|(_, next, ..)| next).collect())
    }

    pub async fn service(&self, id: ServiceTicketId, actor: &Actor, event: ServiceEvent) -> Result<ServiceTicket> {
        let m = self.service_move(id, event).await?;
        self.store.save_service(&m, actor, self.clock.now(), &self.routing).await?;
        Ok(m.next)
    }

    /// A service ticket's transition, computed on the ticket as it is now and
    /// not yet saved (the caller saves it with what else it writes).
    pub async fn service_move(&self, id: ServiceTicketId, event: ServiceEvent) -> Result<ServiceMove> {
        let current = self.store.load_service(id).await?;
        let calendar = self.policy.sla_calendar(&*self.calendar(current.value.team).await?);
        let ctx = ServiceCtx { now: self.clock.now(), calendar: &calendar, policy: &self.policy };
        let (next, effects) = current.value.apply(event, &ctx)?;
        Ok(ServiceMove { current, next, effects })
    }

    /// A new service ticket, its SLA clock and escalation chains started.
    pub async fn create_service(&self, new: NewServiceTicket, actor: &Actor) -> Result<ServiceTicket> {
        let calendar = self.policy.sla_calendar(&*self.calendar(new.team).await?);
        let ctx = ServiceCtx { now: self.clock.now(), calendar: &calendar, policy: &self.policy };
        self.store.create_service(new, actor, &ctx, &self.routing).await
    }
}

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

    /// A customer or staff member picks a slot (or moves the appointment to
    /// one): refused with [`StoreError::SlotFull`] if it filled meanwhile.
    pub async fn pick_slot(&self, id: RefreshTicketId, actor: &Actor, slot: SlotId) -> Result<RefreshTicket> {
        let s = self.store.slot(slot).await?;
        let ticket = self.store.load_refresh(id).await?.value;
        if s.team != ticket.team {
            return Err(StoreError::Invalid(format!("slot {slot} belongs to another support team")));
        }
        if !s.is_free() {
            return Err(StoreError::SlotFull(slot));
        }
        let event = match ticket.status {
            RefreshStatus::DeliveryScheduled => RefreshEvent::Rescheduled { slot, starts_at: s.starts_at },
            _ => RefreshEvent::SlotPicked { slot, starts_at: s.starts_at },
        };
        self.refresh(id, actor, event).await
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
            let template = crate::domain::Template::ApprovalDigest.into();
            let m = NewMessage {
                dedupe_key: &key,
                ticket: None,
                channel: crate::domain::Channel::Email,
                recipient: &d.email,
                template,
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
            template: crate::domain::Template::KpiDigest.into(),
            payload: &payload.to_string(),
            hours: None,
        };
        self.store.enqueue(&m, now).await
    }
}
