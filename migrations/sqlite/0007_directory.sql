-- The directory as data (DESIGN rule 7): a directory file or an import says
-- who the people, groups, teams and refresh configs are. People, teams and
-- configs are never deleted (history names them): they are deactivated.
-- `source` tells which of them a directory sync manages: it deactivates
-- only the `directory` people its file no longer lists.
ALTER TABLE people ADD COLUMN source TEXT NOT NULL DEFAULT 'ticket';
ALTER TABLE people ADD COLUMN deactivated_at INTEGER;
-- When Slack was last asked for this person's id (users.lookupByEmail).
ALTER TABLE people ADD COLUMN slack_lookup_at INTEGER;
ALTER TABLE teams ADD COLUMN location TEXT;
ALTER TABLE teams ADD COLUMN deactivated_at INTEGER;
ALTER TABLE refresh_configs ADD COLUMN peripheral_bundle TEXT NOT NULL DEFAULT '[]';
ALTER TABLE refresh_configs ADD COLUMN peripherals TEXT NOT NULL DEFAULT '[]';
ALTER TABLE refresh_configs ADD COLUMN software TEXT NOT NULL DEFAULT '[]';
ALTER TABLE refresh_configs ADD COLUMN deactivated_at INTEGER;

-- Groups of people (`000_*` configures approvers "by assigning a group").
CREATE TABLE person_groups (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE group_members (
    group_id INTEGER NOT NULL REFERENCES person_groups (id) ON DELETE CASCADE,
    person_id INTEGER NOT NULL REFERENCES people (id),
    PRIMARY KEY (group_id, person_id)
);
CREATE TABLE config_approver_groups (
    config_id INTEGER NOT NULL REFERENCES refresh_configs (id) ON DELETE CASCADE,
    group_id INTEGER NOT NULL REFERENCES person_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (config_id, group_id)
);

-- Mail to customers and approvers leaves only in business hours (DESIGN
-- rule 9): the calendar whose hours hold this row, if any.
ALTER TABLE outbox ADD COLUMN hours TEXT;

-- Who approves a config's refreshes: its approvers named directly and the
-- members of its approver groups, active people only. Every reader (the
-- recipients of a request, the digest, authorization) asks this view.
CREATE VIEW active_approvers AS
    SELECT a.config_id, a.person_id FROM config_approvers a
    JOIN people p ON p.id = a.person_id WHERE p.deactivated_at IS NULL
    UNION
    SELECT g.config_id, m.person_id FROM config_approver_groups g
    JOIN group_members m ON m.group_id = g.group_id
    JOIN people p ON p.id = m.person_id WHERE p.deactivated_at IS NULL;

-- The SMTP envelope's sender as the listener heard it ('' for the null
-- reverse-path of bounces and auto-replies; none by webhook).
ALTER TABLE inbound_messages ADD COLUMN envelope_from TEXT;
