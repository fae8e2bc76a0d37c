-- SQLite migration 1: the schema. PostgreSQL's (../postgres/V1__initial.sql)
-- has the same tables and meanings, with its own types and the counter that
-- hands out sequence numbers in commit order.
-- rusqlite_migration counts applied migrations in `PRAGMA user_version`:
-- never edit or reorder an applied file, add the next one.
CREATE TABLE people (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,            -- practitioner | supervisor | young-person
    agency TEXT,                   -- agency slug; NULL for a young person
    child TEXT                     -- the young person's child
);
CREATE TABLE children (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL
);
CREATE TABLE team_members (
    child TEXT NOT NULL REFERENCES children(id),
    person TEXT NOT NULL REFERENCES people(id),
    agency TEXT NOT NULL,
    role TEXT NOT NULL,            -- member | lead-professional | named-person
    PRIMARY KEY (child, person)
);
CREATE INDEX team_members_person ON team_members(person);
CREATE TABLE supervisors (
    supervisor TEXT NOT NULL REFERENCES people(id),
    supervisee TEXT NOT NULL REFERENCES people(id),
    PRIMARY KEY (supervisor, supervisee)
);
CREATE TABLE enrol_codes (
    code_hash BLOB PRIMARY KEY,    -- SHA-256 of the normalised code
    person TEXT NOT NULL REFERENCES people(id),
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    person TEXT NOT NULL REFERENCES people(id),
    name TEXT NOT NULL,
    public_key BLOB NOT NULL,
    enrolled_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE TABLE nonces (
    device TEXT NOT NULL,
    nonce BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (device, nonce)
);
CREATE INDEX nonces_expiry ON nonces(expires_at);
CREATE TABLE documents (
    doc_key TEXT PRIMARY KEY,
    child TEXT NOT NULL REFERENCES children(id),
    created_at INTEGER NOT NULL
);
CREATE INDEX documents_child ON documents(child);
CREATE TABLE changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_key TEXT NOT NULL REFERENCES documents(doc_key),
    hash TEXT NOT NULL,
    actor TEXT NOT NULL,
    device TEXT,                   -- NULL for the server's own changes
    person TEXT,
    bytes BLOB NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (doc_key, hash)
);
CREATE INDEX changes_doc_seq ON changes(doc_key, seq);
CREATE TABLE sync_states (
    device TEXT NOT NULL,
    doc_key TEXT NOT NULL,
    state BLOB NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (device, doc_key)
);
CREATE TABLE device_documents (
    device TEXT NOT NULL,
    doc_key TEXT NOT NULL,
    first_synced_at INTEGER NOT NULL,
    PRIMARY KEY (device, doc_key)
);
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    event TEXT NOT NULL,
    doc_key TEXT NOT NULL,
    child TEXT NOT NULL,
    change_hash TEXT,
    actor TEXT,
    device TEXT,
    person TEXT
);
CREATE INDEX audit_log_child ON audit_log(child, id);
CREATE TABLE quarantine (
    device TEXT NOT NULL,
    person TEXT NOT NULL,
    doc_key TEXT NOT NULL,
    hash TEXT NOT NULL,
    bytes BLOB NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (device, doc_key, hash)
);
