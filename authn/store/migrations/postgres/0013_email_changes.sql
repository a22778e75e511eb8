-- Email change requests (authn.EmailChange): the new address must be
-- proven (and, for a risky request, the current one approve) before the
-- account moves; the old address may undo it until undo_until. The links
-- are one_time_tokens bound to the change by flow_id.
CREATE TABLE email_changes (
	id               text PRIMARY KEY,
	user_id          text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	old_email        text NOT NULL,
	new_email        text NOT NULL,
	confirm_required boolean NOT NULL DEFAULT false,
	verified_at      timestamptz,
	confirmed_at     timestamptz,
	applied_at       timestamptz,
	undone_at        timestamptz,
	undo_until       timestamptz,
	created_at       timestamptz NOT NULL,
	expires_at       timestamptz NOT NULL,
	evaluation_id    text NOT NULL DEFAULT ''
);
CREATE INDEX email_changes_user ON email_changes (user_id, created_at);
