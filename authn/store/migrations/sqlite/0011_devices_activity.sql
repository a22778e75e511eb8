-- The devices each user signed in from, as the user sees them
-- (authn.UserDevice): the name they gave it, where and with what it was
-- last seen. Trust is the risk engine's, not stored here.
CREATE TABLE user_devices (
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	device_id  TEXT NOT NULL,
	name       TEXT NOT NULL DEFAULT '',
	user_agent TEXT NOT NULL DEFAULT '',
	ip         TEXT NOT NULL DEFAULT '',
	city       TEXT NOT NULL DEFAULT '',
	country    TEXT NOT NULL DEFAULT '',
	first_seen INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	PRIMARY KEY (user_id, device_id)
);

-- Each user's own history (authn.Activity): sign-ins and security events,
-- capped per user and deleted past the retention.
CREATE TABLE activity (
	id            TEXT PRIMARY KEY,
	user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	at            INTEGER NOT NULL,
	kind          TEXT NOT NULL,
	ip            TEXT NOT NULL DEFAULT '',
	city          TEXT NOT NULL DEFAULT '',
	country       TEXT NOT NULL DEFAULT '',
	device_id     TEXT NOT NULL DEFAULT '',
	user_agent    TEXT NOT NULL DEFAULT '',
	factor        TEXT NOT NULL DEFAULT '',
	decision      TEXT NOT NULL DEFAULT '',
	outcome       TEXT NOT NULL DEFAULT '',
	session_id    TEXT NOT NULL DEFAULT '',
	evaluation_id TEXT NOT NULL DEFAULT '',
	disowned_at   INTEGER
);
CREATE INDEX activity_user_at ON activity (user_id, at DESC, id DESC);
CREATE INDEX activity_at ON activity (at);
