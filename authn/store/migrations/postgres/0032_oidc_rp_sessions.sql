-- OpenID Connect back-channel logout (authn/oidc): which relying party
-- got tokens from which riskauth session, so that when the session ends
-- (sign-out, revocation, "this wasn't me", a disabled account) the
-- client is told. No foreign key to users: a deleted account's clients
-- are told too, and the row goes once they were.
CREATE TABLE oidc_rp_sessions (
	client_id  text NOT NULL,
	session_id text NOT NULL,
	user_id    text NOT NULL,
	created_at timestamptz NOT NULL,
	PRIMARY KEY (client_id, session_id)
);
CREATE INDEX oidc_rp_sessions_user ON oidc_rp_sessions (user_id);
