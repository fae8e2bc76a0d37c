-- PostgreSQL migration (issue 16): as SQLite's 06_keys_erasure_and_closing.sql.
CREATE TABLE data_keys (
    owner TEXT PRIMARY KEY,
    wrapped BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE erasures (
    child TEXT PRIMARY KEY,
    erased_at BIGINT NOT NULL,
    erased_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    closed_on TEXT,
    n BIGSERIAL
);
-- The owners whose data key was destroyed (the child, and the requests
-- accepted for it): none of them gets a key again.
CREATE TABLE erased_keys (
    owner TEXT PRIMARY KEY,
    erased_at BIGINT NOT NULL
);
-- When a child's case closed (YYYY-MM-DD), for retention.
ALTER TABLE children ADD COLUMN closed_on TEXT;
