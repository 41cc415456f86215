-- Delivery: a claimed outbox row is leased until locked_until, so a row a
-- crashed dispatcher held is picked up again; every attempt is logged.

ALTER TABLE outbox ADD COLUMN locked_until INTEGER;

CREATE TABLE delivery_attempts (
    id INTEGER PRIMARY KEY,
    outbox_id INTEGER NOT NULL REFERENCES outbox (id),
    ticket TEXT,
    attempt INTEGER NOT NULL,
    at INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT,
    external_id TEXT
);
CREATE INDEX delivery_attempts_ticket ON delivery_attempts (ticket, id);
CREATE INDEX delivery_attempts_outbox ON delivery_attempts (outbox_id, id);
