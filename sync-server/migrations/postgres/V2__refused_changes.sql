-- PostgreSQL migration (issue 15, refused work): every change the gate refused
-- is kept, never applied, with who sent it, the rule it broke and where, so
-- the person and their supervisors can read what it would have written.
-- At most `bothy_shared::refused::MAX_REFUSED_PER_DEVICE` rows per device.
CREATE TABLE refused_changes (
    device TEXT NOT NULL,
    person TEXT NOT NULL,
    doc_key TEXT NOT NULL,
    hash TEXT NOT NULL,
    rule TEXT NOT NULL,
    path TEXT NOT NULL,
    bytes BYTEA NOT NULL,
    refused_at BIGINT NOT NULL,
    PRIMARY KEY (device, doc_key, hash)
);
CREATE INDEX refused_changes_person ON refused_changes(person, refused_at);
