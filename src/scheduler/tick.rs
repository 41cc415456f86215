//! The timer tick: claims the timers that are due (and only those) and
//! fires each as an event on its ticket. The step is consumed in the same
//! transaction as the transition it causes, so it fires once; a step whose
//! ticket moved on is dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::{TryStreamExt, stream};
use tracing::Instrument;

use crate::domain::refresh::RefreshEvent;
use crate::domain::service::ServiceEvent;
use crate::domain::{Actor, DomainError, TicketRef};
use crate::metrics::Metrics;
use crate::store::{DueTimer, Holder, Result, StoreError};
use crate::workflow::Workflow;

pub struct TimerTick {
    pub workflow: Workflow,
    pub batch: i64,
    /// Holds the claims of the timers being fired (and of the cron runs).
    pub holder: Holder,
    /// Tickets whose timers are fired at once, each in its own transaction.
    concurrency: usize,
    /// Timers may still be claimed by an earlier round that failed midway
    /// (the database went away): the heartbeat would keep such claims alive
    /// for ever, so the next round gives them back first.
    unreleased: AtomicBool,
    metrics: Arc<Metrics>,
}

impl TimerTick {
    /// Claims up to `batch` due timers at a time, under a holder of its own,
    /// and fires them one at a time (so a simulation is reproducible).
    pub fn new(workflow: Workflow, batch: i64) -> Self {
        Self {
            workflow,
            batch,
            holder: Holder::default(),
            concurrency: 1,
            unreleased: AtomicBool::new(false),
            metrics: Arc::default(),
        }
    }

    /// Fires the timers of up to `tickets` tickets at once: a burst of
    /// steps due together (a major incident's pings) is not fired one
    /// transaction after another.
    pub fn with_concurrency(self, tickets: usize) -> Self {
        Self { concurrency: tickets.max(1), ..self }
    }

    /// Claims under `holder` (the process's, whose leases are kept alive).
    pub fn with_holder(self, holder: Holder) -> Self {
        Self { holder, ..self }
    }

    /// Counts each firing's lag behind its due time in `metrics`.
    pub fn with_metrics(self, metrics: Arc<Metrics>) -> Self {
        Self { metrics, ..self }
    }

    /// Fires what is due now; returns how many timers were handled.
    pub async fn run_once(&self) -> Result<usize> {
        let store = &self.workflow.store;
        if self.unreleased.load(Ordering::Acquire) {
            store.release_timers(&self.holder.id).await?;
        }
        let now = self.workflow.clock.now();
        // A claim that fails may still have claimed (its answer was lost).
        self.unreleased.store(true, Ordering::Release);
        let due = store.claim_due_timers(now, &self.holder, self.batch).await?;
        if due.is_empty() {
            self.unreleased.store(false, Ordering::Release);
            return Ok(0);
        }
        let count = due.len();
        // One ticket's timers in due order; the tickets side by side.
        let tickets = crate::queues::by_key(due, |timer| timer.ticket);
        let fired = stream::iter(tickets.into_iter().map(Ok))
            .try_for_each_concurrent(self.concurrency, |timers| async move {
                for timer in &timers {
                    self.metrics.timer_fired(timer.due_at, now);
                    let span =
                        tracing::info_span!("timer", ticket = %timer.ticket, kind = %timer.kind, step = timer.step);
                    self.fire(timer).instrument(span).await?;
                }
                Ok::<_, StoreError>(())
            })
            .await;
        // What was not consumed goes back, whether or not firing failed.
        store.release_timers(&self.holder.id).await?;
        self.unreleased.store(false, Ordering::Release);
        fired.map(|()| count)
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
            // Another writer changed the ticket first: the timer is given
            // back and fired against the new state at the next tick.
            Err(StoreError::Conflict { .. }) => Ok(()),
            Err(e @ (StoreError::Domain(DomainError::IllegalTransition { .. }) | StoreError::NotFound(_))) => {
                tracing::warn!(ticket = %t.ticket, kind = %t.kind, reason = %e, "timer no longer applies; dropped");
                self.workflow.store.drop_timer(t.id).await
            }
            // Anything else (the database, a missing calendar) is given back
            // and tried again (or its lease runs out): a step is never lost.
            Err(e) => {
                tracing::error!(ticket = %t.ticket, kind = %t.kind, error = %e, "timer failed; will retry");
                Ok(())
            }
        }
    }
}
