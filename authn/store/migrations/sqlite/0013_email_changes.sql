-- Email change requests (authn.EmailChange): the new address must be
-- proven (and, for a risky request, the current one approve) before the
-- account moves; the old address may undo it until undo_until. The links
-- are one_time_tokens bound to the change by flow_id.
CREATE TABLE email_changes (
	id               TEXT PRIMARY KEY,
	user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	old_email        TEXT NOT NULL,
	new_email        TEXT NOT NULL,
	confirm_required INTEGER NOT NULL DEFAULT 0,
	verified_at      INTEGER,
	confirmed_at     INTEGER,
	applied_at       INTEGER,
	undone_at        INTEGER,
	undo_until       INTEGER,
	created_at       INTEGER NOT NULL,
	expires_at       INTEGER NOT NULL,
	evaluation_id    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX email_changes_user ON email_changes (user_id, created_at);
