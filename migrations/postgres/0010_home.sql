-- When a person last opened deskbell's App Home in Slack: their Home is
-- republished when what it shows changes (#19).
ALTER TABLE people ADD COLUMN home_opened_at BIGINT;
