-- Numbered 0005, not 0002: versions need only be unique, and lower
-- numbers are left to schema changes of the existing tables.

-- Events counted per key across instances (authn.EventCounter): wrong
-- passwords per identifier, mails per address and kind. key is a keyed
-- hash computed by authn, never an address.
CREATE TABLE counter_events (
	key        bytea NOT NULL,
	at         timestamptz NOT NULL,
	expires_at timestamptz NOT NULL
);
CREATE INDEX counter_events_key ON counter_events (key, at);
CREATE INDEX counter_events_expiry ON counter_events (expires_at);

-- Who started a login flow that asked for an email code (authn.FlowClient):
-- shown when its magic link is opened in another browser, for approval.
CREATE TABLE flow_clients (
	flow_id    text PRIMARY KEY,
	ip         text NOT NULL DEFAULT '',
	user_agent text NOT NULL DEFAULT '',
	location   text NOT NULL DEFAULT '',
	at         timestamptz NOT NULL,
	expires_at timestamptz NOT NULL
);
CREATE INDEX flow_clients_expiry ON flow_clients (expires_at);
