-- Scheduler: a claimed timer is leased until locked_until, so a replica that
-- died while firing it does not lose it; every cron job run is recorded, and
-- (job, due_at) is unique, so exactly one replica runs each due time.

ALTER TABLE timers ADD COLUMN locked_until INTEGER;

CREATE TABLE job_runs (
    id INTEGER PRIMARY KEY,
    job TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    outcome TEXT,
    UNIQUE (job, due_at)
);
CREATE INDEX job_runs_recent ON job_runs (job, due_at);

-- A slot an admin deleted stays as a tombstone, so the nightly generation
-- does not bring it back.
ALTER TABLE schedule_slots ADD COLUMN deleted_at INTEGER;
