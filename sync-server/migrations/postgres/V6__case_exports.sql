-- PostgreSQL migration (issue 17): as SQLite's 07_case_exports.sql.
CREATE TABLE case_exports (
    child TEXT NOT NULL,
    exported_at BIGINT NOT NULL,
    exported_by TEXT NOT NULL,
    command TEXT NOT NULL,
    documents TEXT NOT NULL,
    n BIGSERIAL
);
CREATE INDEX case_exports_child ON case_exports(child, exported_at, n);
