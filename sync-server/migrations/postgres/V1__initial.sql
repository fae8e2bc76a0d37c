-- The PostgreSQL schema: the SQLite schema's tables and meanings
-- (src/storage/sqlite.rs), with PostgreSQL types, plus the single-row
-- counter that hands out change sequence numbers in commit order.
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
    code_hash BYTEA PRIMARY KEY,   -- SHA-256 of the normalised code
    person TEXT NOT NULL REFERENCES people(id),
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    person TEXT NOT NULL REFERENCES people(id),
    name TEXT NOT NULL,
    public_key BYTEA NOT NULL,
    enrolled_at BIGINT NOT NULL,
    revoked_at BIGINT
);
-- Shared by every instance, so a nonce used on one is refused by all.
CREATE TABLE nonces (
    device TEXT NOT NULL,
    nonce BYTEA NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (device, nonce)
);
CREATE INDEX nonces_expiry ON nonces(expires_at);
CREATE TABLE documents (
    doc_key TEXT PRIMARY KEY,
    child TEXT NOT NULL REFERENCES children(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX documents_child ON documents(child);
-- The last sequence number handed out. A transaction that stores changes
-- locks this row (UPDATE) just before it inserts them and holds the lock
-- until it commits, so sequence numbers become visible in order: whoever
-- sees sequence n already sees every sequence below n.
CREATE TABLE change_counter (
    id SMALLINT PRIMARY KEY CHECK (id = 1),
    last BIGINT NOT NULL
);
INSERT INTO change_counter (id, last) VALUES (1, 0);
CREATE TABLE changes (
    seq BIGINT PRIMARY KEY,        -- from change_counter, never from a sequence
    doc_key TEXT NOT NULL REFERENCES documents(doc_key),
    hash TEXT NOT NULL,
    actor TEXT NOT NULL,
    device TEXT,                   -- NULL for the server's own changes
    person TEXT,
    bytes BYTEA NOT NULL,
    received_at BIGINT NOT NULL,
    UNIQUE (doc_key, hash)
);
CREATE INDEX changes_doc_seq ON changes(doc_key, seq);
CREATE TABLE sync_states (
    device TEXT NOT NULL,
    doc_key TEXT NOT NULL,
    state BYTEA NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (device, doc_key)
);
CREATE TABLE device_documents (
    device TEXT NOT NULL,
    doc_key TEXT NOT NULL,
    first_synced_at BIGINT NOT NULL,
    PRIMARY KEY (device, doc_key)
);
CREATE TABLE audit_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at BIGINT NOT NULL,
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
    bytes BYTEA NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (device, doc_key, hash)
);
