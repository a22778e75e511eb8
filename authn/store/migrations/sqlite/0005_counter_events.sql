-- Events counted per key across instances (authn.EventCounter): wrong
-- passwords per identifier, mails per address and kind. key is a keyed
-- hash computed by authn, never an address. Numbered 0005, not 0002:
-- versions need only be unique, and lower numbers are left to schema
-- changes of the existing tables.
CREATE TABLE counter_events (
	key        BLOB NOT NULL,
	at         INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX counter_events_key ON counter_events (key, at);
CREATE INDEX counter_events_expiry ON counter_events (expires_at);
