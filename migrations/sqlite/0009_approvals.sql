-- Approvals that keep moving (#16): who holds each approver's request and
-- what they decided (JSON of the domain's Approval), each config's rule,
-- reminder and fallback days (JSON) and fallback (an email or a group
-- name, resolved when a request is routed), the Slack status that says a
-- person is away, and delegations, one per approver, by local days.
ALTER TABLE refresh_tickets ADD COLUMN approval TEXT;
ALTER TABLE refresh_configs ADD COLUMN approval_settings TEXT NOT NULL DEFAULT '{}';
ALTER TABLE refresh_configs ADD COLUMN fallback TEXT;
ALTER TABLE people ADD COLUMN away_status TEXT;
CREATE TABLE delegations (
    approver_id INTEGER PRIMARY KEY REFERENCES people (id),
    delegate_id INTEGER NOT NULL REFERENCES people (id),
    from_day TEXT NOT NULL,
    until_day TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at INTEGER NOT NULL
);
