-- Slack retries an event it thinks was not received (X-Slack-Retry-Num);
-- each event id is acted on once, whichever replica gets the retry.
CREATE TABLE slack_events (
    event_id TEXT PRIMARY KEY,
    received_at BIGINT NOT NULL
);

-- /ticket looks tickets up by serial (any status) and by customer.
CREATE INDEX refresh_tickets_serial ON refresh_tickets (existing_serial);
CREATE INDEX refresh_tickets_customer ON refresh_tickets (customer_id);
