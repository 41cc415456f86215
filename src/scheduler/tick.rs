//! The timer tick: claims the timers that are due (and only those) and
//! fires each as an event on its ticket. The step is consumed in the same
//! transaction as the transition it causes, so it fires once; a step whose
//! ticket moved on is dropped.

use std::sync::Arc;

use chrono::Duration;
use tracing::Instrument;

use crate::domain::refresh::RefreshEvent;
use crate::domain::service::ServiceEvent;
use crate::domain::{Actor, DomainError, TicketRef};
use crate::metrics::Metrics;
use crate::store::{DueTimer, Result, StoreError};
use crate::workflow::Workflow;

pub struct TimerTick {
    pub workflow: Workflow,
    pub batch: i64,
    pub lease: Duration,
    metrics: Arc<Metrics>,
}

impl TimerTick {
    /// Claims up to `batch` due timers at a time, each for five minutes.
    pub fn new(workflow: Workflow, batch: i64) -> Self {
        Self { workflow, batch, lease: Duration::minutes(5), metrics: Arc::default() }
    }

    /// Counts each firing's lag behind its due time in `metrics`.
    pub fn with_metrics(self, metrics: Arc<Metrics>) -> Self {
        Self { metrics, ..self }
    }

    /// Fires what is due now; returns how many timers were handled.
    pub async fn run_once(&self) -> Result<usize> {
        let now = self.workflow.clock.now();
        let due = self.workflow.store.claim_due_timers(now, now + self.lease, self.batch).await?;
        for timer in &due {
            self.metrics.timer_fired(timer.due_at, now);
            let span = tracing::info_span!("timer", ticket = %timer.ticket, kind = %timer.kind, step = timer.step);
            self.fire(timer).instrument(span).await?;
        }
        Ok(due.len())
    }

    async fn fire(&self, t: &DueTimer) -> Result<()> {
        let result = match t.ticket {
            TicketRef::Refresh(id) => {
                let event = RefreshEvent::TimerFired { kind: t.kind, step: t.step };
                self.workflow.refresh(id, &Actor::System, event).await.map(drop)
            }
            TicketRef::Service(id) => {
                let event = ServiceEvent::TimerFired { kind: t.kind, step: t.step };
                self.workflow.service(id, &Actor::System, event).await.map(drop)
            }
        };
        match result {
            Ok(()) => Ok(()),
            // Another writer changed the ticket first: the lease runs out and
            // the step is fired against the new state.
            Err(StoreError::Conflict { .. }) => Ok(()),
            Err(e @ (StoreError::Domain(DomainError::IllegalTransition { .. }) | StoreError::NotFound(_))) => {
                tracing::warn!(ticket = %t.ticket, kind = %t.kind, reason = %e, "timer no longer applies; dropped");
                self.workflow.store.drop_timer(t.id).await
            }
            // Anything else (the database, a missing calendar) is kept and
            // tried again when the lease runs out: a step is never lost.
            Err(e) => {
                tracing::error!(ticket = %t.ticket, kind = %t.kind, error = %e, "timer failed; will retry");
                Ok(())
            }
        }
    }
}
