-- OpenID Connect consents (authn/oidc): what a user let a third-party
-- client receive. scopes is space-separated, as in OAuth. A deleted
-- account takes its consents with it.
CREATE TABLE oidc_consents (
	user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	client_id  text NOT NULL,
	scopes     text NOT NULL,
	granted_at timestamptz NOT NULL,
	PRIMARY KEY (user_id, client_id)
);
-- Revoking a consent revokes the client's tokens of that user.
CREATE INDEX oidc_tokens_user_client ON oidc_tokens (user_id, client_id);
