-- PostgreSQL migration (issue 15, team changes): as SQLite's
-- 03_team_changes_and_kept_work.sql (`n` orders them, as SQLite's rowid).
CREATE TABLE team_changes (
    id TEXT PRIMARY KEY,
    child TEXT NOT NULL REFERENCES children(id),
    by_person TEXT NOT NULL,
    by_device TEXT NOT NULL,
    action TEXT NOT NULL,
    person TEXT NOT NULL,
    role TEXT,
    ends_on TEXT,
    reason TEXT,
    refused_rule TEXT,
    at BIGINT NOT NULL,
    n BIGSERIAL           -- the order changes were kept in
);
CREATE INDEX team_changes_child ON team_changes(child, at);
ALTER TABLE quarantine ADD COLUMN reason TEXT NOT NULL DEFAULT 'revoked';
