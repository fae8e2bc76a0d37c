-- SQLite migration (issue 16, encryption at rest and erasure): the data
-- keys, each wrapped by the master key (storage/keys.rs); a child's is
-- destroyed when the child is erased. `owner` is a child's id, a
-- request's id (`request/<id>` belongs to no child) or `master-key-check`
-- (a key wrapped when the database was made: whether the master key
-- given at start-up is the database's).
CREATE TABLE data_keys (
    owner TEXT PRIMARY KEY,
    wrapped BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
-- Every erasure: the tombstone of a child's case (who ran it, when, why;
-- no content).
CREATE TABLE erasures (
    child TEXT PRIMARY KEY,
    erased_at INTEGER NOT NULL,
    erased_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    closed_on TEXT
);
-- The owners whose data key was destroyed (the child, and the requests
-- accepted for it): none of them gets a key again.
CREATE TABLE erased_keys (
    owner TEXT PRIMARY KEY,
    erased_at INTEGER NOT NULL
);
-- When a child's case closed (YYYY-MM-DD), for retention.
ALTER TABLE children ADD COLUMN closed_on TEXT;
