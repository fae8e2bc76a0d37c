-- SQLite migration (issue 17, the case export): every export of a child's
-- case for a partnership's case system: who ran it, when, the command as
-- given and the documents it held (keys, space-separated). No content.
-- Kept after an erasure, like the audit entries.
CREATE TABLE case_exports (
    child TEXT NOT NULL,
    exported_at INTEGER NOT NULL,
    exported_by TEXT NOT NULL,
    command TEXT NOT NULL,
    documents TEXT NOT NULL
);
CREATE INDEX case_exports_child ON case_exports(child, exported_at);
