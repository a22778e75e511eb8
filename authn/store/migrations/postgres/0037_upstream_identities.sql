-- Identities at upstream OpenID Connect providers linked to accounts
-- (authn/signin_upstream.go). (issuer, subject) is the upstream account,
-- linked to at most one riskauth account. email is what the provider
-- said at link time, a record only. A deleted account takes its links
-- with it.
CREATE TABLE upstream_identities (
	id           text PRIMARY KEY,
	user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	provider     text NOT NULL,
	issuer       text NOT NULL,
	subject      text NOT NULL,
	email        text NOT NULL,
	linked_at    timestamptz NOT NULL,
	last_used_at timestamptz NOT NULL,
	UNIQUE (issuer, subject)
);
CREATE INDEX upstream_identities_user ON upstream_identities (user_id, linked_at);

-- An upstream identity waiting for its owner to prove the existing
-- account with the same verified address: linked when the login flow
-- flow_id completes for user_id. Single use; lives as long as the flow.
CREATE TABLE upstream_pending_links (
	flow_id    text PRIMARY KEY,
	user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	provider   text NOT NULL,
	issuer     text NOT NULL,
	subject    text NOT NULL,
	email      text NOT NULL,
	expires_at timestamptz NOT NULL
);
CREATE INDEX upstream_pending_links_expiry ON upstream_pending_links (expires_at);
