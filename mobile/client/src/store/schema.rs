//! The device database schema, as an append-only list of migrations.
//!
//! Table and column names are a contract with the modules that read and
//! write them (the store itself, and `crate::index` for the `idx_*` tables).
//! Never edit a migration that has shipped; add a new one.

use rusqlite_migration::{M, Migrations};

/// Version 1: documents and their changes, sync state, drafts, meta,
/// rejections and the list/search index tables.
const V1: &str = "
CREATE TABLE documents (
    doc_key        TEXT PRIMARY KEY,
    snapshot       BLOB,
    snapshot_heads BLOB,
    updated_at     INTEGER
);

CREATE TABLE changes (
    doc_key TEXT,
    hash    BLOB,
    bytes   BLOB NOT NULL,
    local   INTEGER NOT NULL,
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    UNIQUE (doc_key, hash)
);
CREATE INDEX changes_unacknowledged ON changes (doc_key) WHERE local = 1;

CREATE TABLE sync_states (
    peer    TEXT,
    doc_key TEXT,
    state   BLOB,
    PRIMARY KEY (peer, doc_key)
);

CREATE TABLE drafts (
    draft_key  TEXT PRIMARY KEY,
    body       BLOB NOT NULL,
    updated_at INTEGER
);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TABLE rejections (
    id          INTEGER PRIMARY KEY,
    doc_key     TEXT,
    change_hash BLOB,
    rule        TEXT,
    path        TEXT,
    message     TEXT,
    at          INTEGER
);

CREATE TABLE idx_children (
    child_id          TEXT PRIMARY KEY,
    name              TEXT,
    preferred_name    TEXT,
    date_of_birth     TEXT,
    review_date       TEXT,
    last_visit_at     INTEGER,
    lead_professional TEXT
);

CREATE TABLE idx_visits (
    doc_key      TEXT,
    visit_id     TEXT,
    child_id     TEXT,
    at           INTEGER,
    practitioner TEXT,
    agency       TEXT,
    kind         TEXT,
    finalised    INTEGER,
    PRIMARY KEY (doc_key, visit_id)
);
CREATE INDEX idx_visits_child_at ON idx_visits (child_id, at);

CREATE TABLE idx_actions (
    doc_key   TEXT,
    action_id TEXT,
    child_id  TEXT,
    need_id   TEXT,
    what      TEXT,
    owner     TEXT,
    agency    TEXT,
    due       TEXT,
    status    TEXT,
    PRIMARY KEY (doc_key, action_id)
);
CREATE INDEX idx_actions_due ON idx_actions (due);

CREATE TABLE idx_chronology (
    doc_key      TEXT,
    entry_id     TEXT,
    child_id     TEXT,
    date         TEXT,
    agency       TEXT,
    event        TEXT,
    significance TEXT,
    PRIMARY KEY (doc_key, entry_id)
);
";

/// Version 2: a view of every item (a visit, a need, the plan's head…) kept
/// as JSON, so a child's page is read from the index without loading or
/// hydrating the Automerge documents.
const V2: &str = "
CREATE TABLE idx_items (
    doc_key  TEXT NOT NULL,
    item_key TEXT NOT NULL,
    child_id TEXT NOT NULL,
    body     BLOB NOT NULL,
    PRIMARY KEY (doc_key, item_key)
);
CREATE INDEX idx_items_child ON idx_items (child_id);
";

/// Version 3: the day the child's last plan review meeting was held, so the
/// caseload's "review due" flag clears once a review is held (issue 14).
/// Rows written before read it as NULL until their plan is indexed again.
const V3: &str = "
ALTER TABLE idx_children ADD COLUMN last_review TEXT;
";

/// Version 4 (issue 15, "moving on"): whether the child's plan has a
/// transition plan, so the caseload flags young people of 15 and over
/// without one. Rows written before read it as NULL (not flagged) until
/// their plan is indexed again.
const V4_TRANSITION_PLAN: &str = "
ALTER TABLE idx_children ADD COLUMN has_transition_plan INTEGER;
";

/// Version 5 (issue 15, refused work): a refused change is set aside, out
/// of its document, and kept here with its bytes and the words it would
/// have written, so the worker can still read and copy them.
const V5_REFUSED_WORK: &str = "
ALTER TABLE rejections ADD COLUMN bytes BLOB;
ALTER TABLE rejections ADD COLUMN words TEXT;
";

/// Version 6 (issue 15, team changes): team changes made on this device,
/// kept until the server applies or refuses them (`crate::store::team`).
const V6_TEAM_CHANGES: &str = "
CREATE TABLE team_changes (
    id       TEXT PRIMARY KEY,
    child_id TEXT NOT NULL,
    body     BLOB NOT NULL,
    made_at  INTEGER NOT NULL,
    status   TEXT NOT NULL,
    rule     TEXT,
    detail   TEXT
);
CREATE INDEX team_changes_child ON team_changes (child_id);
";

const MIGRATIONS: &[M<'static>] = &[
    M::up(V1),
    M::up(V2),
    M::up(V3),
    M::up(V4_TRANSITION_PLAN),
    M::up(V5_REFUSED_WORK),
    M::up(V6_TEAM_CHANGES),
];

/// All migrations, oldest first.
pub(crate) fn migrations() -> Migrations<'static> {
    Migrations::from_slice(MIGRATIONS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        migrations().validate().unwrap();
    }
}
