-- Erasure requests (authn.DeletionRequest): the user asked for their
-- account to be erased; the erasure job carries it out at due_at unless
-- the user cancels first (signing in cancels). Deleted with the account.
CREATE TABLE deletion_requests (
	user_id      TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	requested_at INTEGER NOT NULL,
	due_at       INTEGER NOT NULL
);
CREATE INDEX deletion_requests_due ON deletion_requests (due_at);

-- The record that an erasure happened (authn.ErasureRecord), without
-- personal data: subject is a keyed hash of the user id, never the id.
CREATE TABLE erasures (
	subject      BLOB PRIMARY KEY,
	requested_at INTEGER,
	erased_at    INTEGER NOT NULL,
	initiator    TEXT NOT NULL
);
