-- PostgreSQL migration 2 (issue 15): requests for help, as SQLite's
-- 03_requests_for_help.sql. A request's document belongs to no child.
ALTER TABLE documents ALTER COLUMN child DROP NOT NULL;
CREATE TABLE duty_workers (
    person TEXT PRIMARY KEY REFERENCES people(id)
);
CREATE TABLE requests (
    id TEXT PRIMARY KEY,
    sender TEXT NOT NULL REFERENCES people(id),
    sender_agency TEXT NOT NULL,
    to_agency TEXT NOT NULL,
    child TEXT REFERENCES children(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX requests_sender ON requests(sender);
CREATE INDEX requests_to_agency ON requests(to_agency);
