//! Background work on the clock: the timer tick that fires due cadence and
//! escalation steps, and the cron jobs.

mod jobs;
mod tick;

pub use jobs::{Job, Scheduler, due_now};
pub use tick::TimerTick;
