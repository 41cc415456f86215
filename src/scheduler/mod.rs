//! Background work on the clock: the timer tick that fires due cadence and
//! escalation steps, and the cron jobs.

mod tick;

pub use tick::TimerTick;
