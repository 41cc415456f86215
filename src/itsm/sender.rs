//! Performs the `tdx` rows of the outbox and turns TDX's answers into
//! ticket events: a system found, a request created. A call that cannot be
//! made yet (the system not in TDX, the request not created) is a transient
//! failure, so the outbox tries again with backoff and alerts when it gives up.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::TdxClient;
use crate::channels::SendError;
use crate::config::TdxSettings;
use crate::domain::refresh::RefreshEvent;
use crate::domain::{Actor, ItsmRequest, RefreshTicketId, TicketRef};
use crate::store::{Claimed, StoreError};
use crate::workflow::Workflow;

pub struct ItsmSender {
    pub client: TdxClient,
    pub settings: TdxSettings,
    pub workflow: Workflow,
}

fn tdx_actor() -> Actor {
    Actor::External("tdx".into())
}

/// A ticket change that lost a race is tried again later, not lost.
fn store_err(e: StoreError) -> SendError {
    match e {
        StoreError::Database(_) | StoreError::Conflict { .. } => SendError::Transient(e.to_string()),
        other => SendError::Permanent(other.to_string()),
    }
}

impl ItsmSender {
    /// Performs one queued TDX call; returns what to record as its external id.
    pub async fn perform(&self, row: &Claimed) -> Result<String, SendError> {
        let Some(TicketRef::Refresh(id)) = row.ticket else {
            return Err(SendError::Permanent(format!("TDX call {} is not for a refresh ticket", row.dedupe_key)));
        };
        let request: ItsmRequest = serde_json::from_str(&row.payload)
            .map_err(|e| SendError::Permanent(format!("unreadable TDX call: {e}")))?;
        let s = &self.settings;
        match request {
            ItsmRequest::LookupSystem { serial } => match self.client.find_asset(s.asset_app_id, &serial).await? {
                Some(asset) => {
                    self.event(id, RefreshEvent::ItsmSystemFound).await?;
                    Ok(format!("asset:{asset}"))
                }
                None => Err(SendError::Transient(format!("serial {serial} is not in TDX yet"))),
            },
            ItsmRequest::CreateRequest { .. } => {
                let ctx = self.workflow.store.ticket_context(id.into()).await.map_err(store_err)?;
                let (ticket, tasks) = self.request_body(&ctx);
                let created = self.client.create_ticket(s.app_id, &ticket, &tasks).await?;
                self.event(id, RefreshEvent::ItsmRequestCreated { request: created.to_string() }).await?;
                Ok(format!("ticket:{created}"))
            }
            ItsmRequest::UpdateAppointment { .. } => {
                let (ticket, ctx) = self.existing_request(id).await?;
                let at = ctx["appointment_at"].as_str().unwrap_or_default();
                self.client.comment(s.app_id, ticket, &format!("Appointment moved to {at} (deskbell)")).await?;
                for task in self.client.tasks(s.app_id, ticket).await? {
                    let body = json!({ "ID": task.id, "Title": task.title, "StartDate": at, "EndDate": at });
                    self.client.update_task(s.app_id, ticket, task.id, &body).await?;
                }
                Ok(format!("ticket:{ticket}"))
            }
            ItsmRequest::ConfirmLocation { from, to } => {
                let ctx = self.workflow.store.ticket_context(id.into()).await.map_err(store_err)?;
                let r = ctx["ref"].as_str().unwrap_or_default();
                let ticket = json!({
                    "TypeID": s.ticket_type_id, "AccountID": s.account_id, "StatusID": s.status_id,
                    "Title": format!("Confirm location for refresh {r}"),
                    "Description": format!(
                        "The customer of {r} (serial {}) says the system is at \"{to}\"; TDX has \"{from}\". Please confirm TDX's location data.",
                        ctx["existing"]["serial"].as_str().unwrap_or_default()
                    ),
                    "ResponsibleGroupID": s.nit_group_id,
                });
                let created = self.client.create_ticket(s.app_id, &ticket, &[]).await?;
                Ok(format!("ticket:{created}"))
            }
            ItsmRequest::ClosePrestageTask => {
                let (ticket, _) = self.existing_request(id).await?;
                let tasks = self.client.tasks(s.app_id, ticket).await?;
                let task = tasks
                    .iter()
                    .find(|t| t.title.to_lowercase().contains("prestage"))
                    .ok_or_else(|| SendError::Permanent(format!("TDX ticket {ticket} has no prestage task")))?;
                self.client.complete_task(s.app_id, ticket, task.id, "Prestaged by the vendor (deskbell)").await?;
                Ok(format!("task:{}", task.id))
            }
        }
    }

    /// The existing system's location as TDX reports it, recorded on the
    /// ticket for its customer to confirm (`000_*`). A read for the page,
    /// not a queued call: if TDX does not answer in time the page simply
    /// asks.
    pub async fn report_location(&self, id: RefreshTicketId, serial: &str) {
        let asked = self.client.asset_location(self.settings.asset_app_id, serial);
        let location = match tokio::time::timeout(std::time::Duration::from_secs(3), asked).await {
            Ok(Ok(Some(found))) => found,
            Ok(Ok(None)) | Err(_) => return,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, %serial, "TDX did not say where the asset is");
                return;
            }
        };
        if let Err(e) = self.event(id, RefreshEvent::LocationReported { location }).await {
            tracing::debug!(error = %e, "the location was recorded meanwhile");
        }
    }

    async fn event(&self, id: RefreshTicketId, event: RefreshEvent) -> Result<(), SendError> {
        self.workflow.refresh(id, &tdx_actor(), event).await.map(drop).map_err(store_err)
    }

    /// The TDX ticket id of a refresh ticket, once its request exists.
    async fn existing_request(&self, id: RefreshTicketId) -> Result<(i64, Value), SendError> {
        let ctx = self.workflow.store.ticket_context(id.into()).await.map_err(store_err)?;
        let ticket = ctx["itsm_request"].as_str().and_then(|r| r.parse().ok());
        let ticket = ticket.ok_or_else(|| SendError::Transient(format!("R-{id} has no TDX request yet")))?;
        Ok((ticket, ctx))
    }

    /// The TDX ticket and its Depot and NIT tasks (and a prestage task for
    /// Windows at-home refreshes), from the message snapshot of the ticket.
    fn request_body(&self, ctx: &Value) -> (Value, Vec<Value>) {
        let s = &self.settings;
        let r = ctx["ref"].as_str().unwrap_or_default();
        let who = if ctx["delegate"].is_null() { &ctx["customer"] } else { &ctx["delegate"] };
        let at = ctx["appointment_at"].as_str();
        let title = format!("Computer refresh {r}: {}", who["name"].as_str().unwrap_or("no customer"));
        let description = format!(
            "Refresh {r} ({} style). Existing {} {}; replacement {}. Appointment: {}.",
            ctx["style"].as_str().unwrap_or_default(),
            ctx["existing"]["serial"].as_str().unwrap_or_default(),
            ctx["existing"]["model"].as_str().unwrap_or_default(),
            ctx["replacement"]["serial"].as_str().unwrap_or("-"),
            at.unwrap_or("none (shipped)"),
        );
        let ticket = json!({
            "TypeID": s.ticket_type_id, "AccountID": s.account_id, "StatusID": s.status_id,
            "Title": title, "Description": description, "RequestorEmail": who["email"],
        });
        let task = |title: &str, group: i64| json!({ "Title": title, "ResponsibleGroupID": group, "StartDate": at, "EndDate": at });
        let mut tasks = vec![
            task("Depot: build and deliver", s.depot_group_id),
            task("NIT: set up with the customer", s.nit_group_id),
        ];
        if ctx["style"] == "remote_customer" && ctx["replacement"]["platform"] == "windows" {
            tasks.insert(0, task("Prestage replacement system", s.depot_group_id));
        }
        (ticket, tasks)
    }

    /// The daily check: tickets awaiting delivery whose TDX request is
    /// completed there are complete here. Returns how many were completed.
    pub async fn check_deliveries(&self, now: DateTime<Utc>) -> Result<usize, SendError> {
        use crate::domain::refresh::RefreshStatus as S;
        let mut done = 0;
        for status in [S::PendingDelivery, S::DeliveryScheduled] {
            for (id, _) in self.workflow.store.refresh_in_status(status).await.map_err(store_err)? {
                let Ok((ticket, _)) = self.existing_request(id).await else { continue };
                let seen = self.client.status(self.settings.app_id, ticket).await?;
                if seen.is_done() {
                    let event = crate::domain::ExternalEvent {
                        ticket: id.into(),
                        source: "tdx".into(),
                        kind: "completed".into(),
                        detail: format!("TDX ticket {ticket}: {}", seen.status_name),
                        at: now,
                    };
                    self.workflow.store.record_event(&event).await.map_err(store_err)?;
                    self.event(id, RefreshEvent::DeliveryConfirmed).await?;
                    done += 1;
                }
            }
        }
        Ok(done)
    }
}
