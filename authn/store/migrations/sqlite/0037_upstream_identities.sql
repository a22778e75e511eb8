-- Identities at upstream OpenID Connect providers linked to accounts
-- (authn/signin_upstream.go). (issuer, subject) is the upstream account,
-- linked to at most one riskauth account. email is what the provider
-- said at link time, a record only. A deleted account takes its links
-- with it.
CREATE TABLE upstream_identities (
	id           TEXT PRIMARY KEY,
	user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	provider     TEXT NOT NULL,
	issuer       TEXT NOT NULL,
	subject      TEXT NOT NULL,
	email        TEXT NOT NULL,
	linked_at    INTEGER NOT NULL,
	last_used_at INTEGER NOT NULL,
	UNIQUE (issuer, subject)
);
CREATE INDEX upstream_identities_user ON upstream_identities (user_id, linked_at);

-- An upstream identity waiting for its owner to prove the existing
-- account with the same verified address: linked when the login flow
-- flow_id completes for user_id. Single use; lives as long as the flow.
CREATE TABLE upstream_pending_links (
	flow_id    TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	provider   TEXT NOT NULL,
	issuer     TEXT NOT NULL,
	subject    TEXT NOT NULL,
	email      TEXT NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX upstream_pending_links_expiry ON upstream_pending_links (expires_at);
