-- Issue 20: what an owner must do at the next sign-in before a session is
-- issued (authn.RequiredActionStore): enrol_mfa after an administrator's
-- MFA reset.
CREATE TABLE required_actions (
	user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	action     text NOT NULL,
	created_at timestamptz NOT NULL,
	PRIMARY KEY (user_id, action)
);
