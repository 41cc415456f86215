-- Claims that live as long as their holder (#18): each claim names the
-- process that holds it, which renews its leases while it lives, so a short
-- lease (seconds, not minutes) is the recovery time after a crash.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE timers ADD COLUMN claimed_by TEXT;
ALTER TABLE job_runs ADD COLUMN claimed_by TEXT;
ALTER TABLE job_runs ADD COLUMN locked_until INTEGER;
CREATE INDEX outbox_claimed ON outbox (claimed_by) WHERE claimed_by IS NOT NULL;
CREATE INDEX timers_claimed ON timers (claimed_by) WHERE claimed_by IS NOT NULL;
-- A recipient's queue: what is waiting for them, in the order it was queued.
CREATE INDEX outbox_queue ON outbox (recipient, channel, id) WHERE status IN ('pending', 'sending');

-- Rate limits the replicas share: the earliest time the next call under a
-- key may go (a Slack channel's pace, a Retry-After) ...
CREATE TABLE rate_pace (
    key TEXT PRIMARY KEY,
    next_at INTEGER NOT NULL
);
-- ... and the calls made in a sliding window (TeamDynamix: 60 per 60 s).
CREATE TABLE rate_calls (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX rate_calls_window ON rate_calls (key, at);
