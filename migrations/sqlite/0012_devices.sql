-- Service requests and the device lifecycle (#20, `001_*`): a service
-- ticket's request (JSON of the domain's ServiceRequest: kind, fields,
-- approval, sanitization) and the client agency it bills; the managed
-- devices, each state change with its time (the billing view at a date);
-- and the billable transactions recorded when tickets close (`002_*`).
ALTER TABLE service_tickets ADD COLUMN agency TEXT;
ALTER TABLE service_tickets ADD COLUMN request TEXT;
CREATE TABLE devices (
    id INTEGER PRIMARY KEY,
    serial TEXT NOT NULL UNIQUE,
    model TEXT,
    platform TEXT NOT NULL,
    user_name TEXT,
    user_email TEXT,
    location TEXT,
    in_service_on TEXT NOT NULL,
    term_months INTEGER NOT NULL,
    warranty_end TEXT,
    agency TEXT NOT NULL,
    team_id INTEGER NOT NULL REFERENCES teams (id),
    config_id INTEGER NOT NULL REFERENCES refresh_configs (id),
    state TEXT NOT NULL,
    -- When the lifecycle job told the refresh admins its term is ending.
    lifecycle_told_at INTEGER
);
CREATE TABLE device_events (
    id INTEGER PRIMARY KEY,
    device_id INTEGER NOT NULL REFERENCES devices (id),
    state TEXT NOT NULL,
    agency TEXT NOT NULL,
    at INTEGER NOT NULL,
    ticket TEXT
);
CREATE INDEX device_events_device ON device_events (device_id, at);
CREATE TABLE transactions (
    id INTEGER PRIMARY KEY,
    ticket TEXT NOT NULL,
    agency TEXT NOT NULL,
    kind TEXT NOT NULL,
    minutes INTEGER NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX transactions_at ON transactions (at);
