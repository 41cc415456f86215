-- deskbell foundation schema (SQLite). Times are Unix epoch milliseconds
-- (UTC) in both databases, so one set of queries serves both. Flags are
-- INTEGER 0/1 here and BOOLEAN in PostgreSQL (sqlx's Any driver cannot read
-- SQLite's BOOLEAN).

CREATE TABLE people (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    slack_user TEXT UNIQUE,
    roles TEXT NOT NULL DEFAULT ''
);

CREATE TABLE teams (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    slack_channel TEXT NOT NULL,
    calendar TEXT NOT NULL
);

CREATE TABLE refresh_configs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    approved_models TEXT NOT NULL DEFAULT '[]',
    options TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE config_approvers (
    config_id INTEGER NOT NULL REFERENCES refresh_configs (id) ON DELETE CASCADE,
    person_id INTEGER NOT NULL REFERENCES people (id),
    PRIMARY KEY (config_id, person_id)
);

CREATE TABLE slot_preferences (
    id INTEGER PRIMARY KEY,
    team_id INTEGER NOT NULL REFERENCES teams (id),
    weekday TEXT NOT NULL,
    start_time TEXT NOT NULL,
    length_minutes INTEGER NOT NULL CHECK (length_minutes > 0),
    capacity INTEGER NOT NULL CHECK (capacity > 0)
);

CREATE TABLE schedule_slots (
    id INTEGER PRIMARY KEY,
    team_id INTEGER NOT NULL REFERENCES teams (id),
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    capacity INTEGER NOT NULL CHECK (capacity > 0),
    booked INTEGER NOT NULL DEFAULT 0 CHECK (booked >= 0 AND booked <= capacity),
    UNIQUE (team_id, starts_at)
);

CREATE TABLE refresh_tickets (
    id INTEGER PRIMARY KEY,
    status TEXT NOT NULL,
    held_from TEXT,
    style TEXT NOT NULL,
    customer_id INTEGER REFERENCES people (id),
    delegate_id INTEGER REFERENCES people (id),
    no_customer INTEGER NOT NULL CHECK (no_customer IN (0, 1)),
    bump_down INTEGER NOT NULL CHECK (bump_down IN (0, 1)),
    team_id INTEGER NOT NULL REFERENCES teams (id),
    config_id INTEGER NOT NULL REFERENCES refresh_configs (id),
    existing_serial TEXT NOT NULL,
    existing_model TEXT,
    existing_platform TEXT NOT NULL,
    replacement_serial TEXT,
    replacement_model TEXT,
    replacement_platform TEXT,
    tracking_number TEXT,
    location TEXT,
    shipping_address TEXT,
    slot_id INTEGER REFERENCES schedule_slots (id),
    appointment_at INTEGER,
    itsm_request TEXT,
    reschedules INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 0
);
-- One open ticket per existing system: a batch imported twice adds nothing.
CREATE UNIQUE INDEX refresh_tickets_open_serial ON refresh_tickets (existing_serial)
    WHERE status NOT IN ('complete', 'cancelled');
CREATE INDEX refresh_tickets_status ON refresh_tickets (status);

CREATE TABLE service_tickets (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    priority TEXT NOT NULL,
    vip INTEGER NOT NULL CHECK (vip IN (0, 1)),
    issue_type TEXT NOT NULL,
    subtype TEXT NOT NULL,
    summary TEXT NOT NULL,
    contact_id INTEGER NOT NULL REFERENCES people (id),
    team_id INTEGER NOT NULL REFERENCES teams (id),
    assignee_id INTEGER REFERENCES people (id),
    tier INTEGER NOT NULL,
    status TEXT NOT NULL,
    held_from TEXT,
    acknowledged_at INTEGER,
    epoch INTEGER NOT NULL,
    status_since INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX service_tickets_status ON service_tickets (status);

CREATE TABLE audits (
    id INTEGER PRIMARY KEY,
    ticket TEXT NOT NULL,
    actor TEXT NOT NULL,
    what TEXT NOT NULL,
    from_value TEXT,
    to_value TEXT,
    at INTEGER NOT NULL
);
CREATE INDEX audits_ticket ON audits (ticket, id);

CREATE TABLE external_events (
    id INTEGER PRIMARY KEY,
    ticket TEXT NOT NULL,
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX external_events_ticket ON external_events (ticket, id);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    ticket TEXT,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    template TEXT NOT NULL,
    payload TEXT NOT NULL,
    not_before INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    external_id TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox (status, not_before);
CREATE INDEX outbox_ticket ON outbox (ticket, id);

CREATE TABLE timers (
    id INTEGER PRIMARY KEY,
    ticket TEXT NOT NULL,
    kind TEXT NOT NULL,
    step INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    paused_at INTEGER,
    UNIQUE (ticket, kind, step)
);
-- The tick reads only what is due: its cost follows due work, not open tickets.
CREATE INDEX timers_due ON timers (due_at) WHERE paused_at IS NULL;
