-- Issue 20: what an owner must do at the next sign-in before a session is
-- issued (authn.RequiredActionStore): enrol_mfa after an administrator's
-- MFA reset.
CREATE TABLE required_actions (
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	action     TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (user_id, action)
) WITHOUT ROWID;
