-- Slack retries an event it thinks was not received (X-Slack-Retry-Num);
-- each event id is acted on once, whichever replica gets the retry.
CREATE TABLE slack_events (
    event_id TEXT PRIMARY KEY,
    received_at INTEGER NOT NULL
);
