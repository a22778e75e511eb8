-- The devices each user signed in from, as the user sees them
-- (authn.UserDevice): the name they gave it, where and with what it was
-- last seen. Trust is the risk engine's, not stored here.
CREATE TABLE user_devices (
	user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	device_id  text NOT NULL,
	name       text NOT NULL DEFAULT '',
	user_agent text NOT NULL DEFAULT '',
	ip         text NOT NULL DEFAULT '',
	city       text NOT NULL DEFAULT '',
	country    text NOT NULL DEFAULT '',
	first_seen timestamptz NOT NULL,
	last_seen  timestamptz NOT NULL,
	PRIMARY KEY (user_id, device_id)
);

-- Each user's own history (authn.Activity): sign-ins and security events,
-- capped per user and deleted past the retention.
CREATE TABLE activity (
	id            text PRIMARY KEY,
	user_id       text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	at            timestamptz NOT NULL,
	kind          text NOT NULL,
	ip            text NOT NULL DEFAULT '',
	city          text NOT NULL DEFAULT '',
	country       text NOT NULL DEFAULT '',
	device_id     text NOT NULL DEFAULT '',
	user_agent    text NOT NULL DEFAULT '',
	factor        text NOT NULL DEFAULT '',
	decision      text NOT NULL DEFAULT '',
	outcome       text NOT NULL DEFAULT '',
	session_id    text NOT NULL DEFAULT '',
	evaluation_id text NOT NULL DEFAULT '',
	disowned_at   timestamptz
);
CREATE INDEX activity_user_at ON activity (user_id, at DESC, id DESC);
CREATE INDEX activity_at ON activity (at);
