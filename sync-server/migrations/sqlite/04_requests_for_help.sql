-- SQLite migration 3 (issue 15): requests for help.
-- A request's document (`request/<id>`) belongs to no child, so a
-- document's child may now be NULL. SQLite cannot drop a NOT NULL in place:
-- the table is rebuilt (foreign keys are off while migrations run, and
-- `PRAGMA foreign_key_check` runs after this one).
CREATE TABLE documents_new (
    doc_key TEXT PRIMARY KEY,
    child TEXT REFERENCES children(id),   -- NULL for a request for help
    created_at INTEGER NOT NULL
);
INSERT INTO documents_new (doc_key, child, created_at)
    SELECT doc_key, child, created_at FROM documents;
DROP TABLE documents;
ALTER TABLE documents_new RENAME TO documents;
CREATE INDEX documents_child ON documents(child);
-- Who is on their agency's duty team (receives its requests for help).
CREATE TABLE duty_workers (
    person TEXT PRIMARY KEY REFERENCES people(id)
);
-- Every request for help: who sent it, to which agency, and the child it
-- was accepted for (NULL until then). The document holds the rest.
CREATE TABLE requests (
    id TEXT PRIMARY KEY,
    sender TEXT NOT NULL REFERENCES people(id),
    sender_agency TEXT NOT NULL,
    to_agency TEXT NOT NULL,
    child TEXT REFERENCES children(id),
    created_at INTEGER NOT NULL
);
CREATE INDEX requests_sender ON requests(sender);
CREATE INDEX requests_to_agency ON requests(to_agency);
