//! Background work on the clock: the timer tick that fires due cadence and
//! escalation steps, and the cron jobs.

mod jobs;
mod tick;

pub use jobs::{Scheduler, due_now};
pub use tick::TimerTick;
