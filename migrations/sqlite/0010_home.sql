-- When a person last opened deskbell's App Home in Slack: their Home is
-- republished when what it shows changes (#19).
ALTER TABLE people ADD COLUMN home_opened_at INTEGER;
-- Every ticket change looks for them: only the few who opened it are indexed.
CREATE INDEX people_home_opened ON people (home_opened_at) WHERE home_opened_at IS NOT NULL;
