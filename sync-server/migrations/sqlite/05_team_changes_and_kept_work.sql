-- SQLite migration (issue 15, team changes): team changes made from the
-- app, applied or refused by the server, each once by its id; the reason
-- offered work is kept (a revoked device, or a person who left the team).
CREATE TABLE team_changes (
    id TEXT PRIMARY KEY,           -- the id the device gave the change
    child TEXT NOT NULL REFERENCES children(id),
    by_person TEXT NOT NULL,       -- who asked
    by_device TEXT NOT NULL,
    action TEXT NOT NULL,          -- add | end
    person TEXT NOT NULL,          -- whom it is about
    role TEXT,                     -- add: member | lead-professional | named-person
    ends_on TEXT,                  -- end: YYYY-MM-DD
    reason TEXT,                   -- end: the words the worker typed
    refused_rule TEXT,             -- NULL when applied
    at INTEGER NOT NULL
);
CREATE INDEX team_changes_child ON team_changes(child, at);
ALTER TABLE quarantine ADD COLUMN reason TEXT NOT NULL DEFAULT 'revoked';
