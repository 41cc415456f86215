-- Every inbound email is stored raw before it is looked at, so nothing is
-- lost when processing fails; `deskbell inbound retry ID` runs it again.
CREATE TABLE inbound_messages (
    id INTEGER PRIMARY KEY,
    received_at INTEGER NOT NULL,
    source TEXT NOT NULL,
    envelope_to TEXT NOT NULL DEFAULT '',
    raw BLOB NOT NULL,
    status TEXT NOT NULL DEFAULT 'stored',
    reason TEXT,
    ticket TEXT,
    sender TEXT,
    message_id TEXT,
    processed_at INTEGER
);
CREATE INDEX inbound_messages_status ON inbound_messages (status, id);

-- Addresses whose mail bounced (a delivery status notification came back).
CREATE TABLE bouncing_addresses (
    address TEXT PRIMARY KEY,
    since INTEGER NOT NULL,
    reason TEXT NOT NULL
);

-- Replies name the Message-ID deskbell gave the mail they answer.
CREATE INDEX outbox_external_id ON outbox (external_id);
