-- SQLite migration 2: `/v1/changed` reads the log by sequence number: a
-- covering index keeps it off the change bytes. A child's young person is
-- found by child.
CREATE INDEX changes_seq_doc_device ON changes(seq, doc_key, device);
CREATE INDEX people_child ON people(child);
