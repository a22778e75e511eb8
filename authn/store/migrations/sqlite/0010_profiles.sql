-- Issue 19's migrations are numbered 0010-0019; versions need only be
-- unique, and the runner applies any that is missing.

-- The user's profile (authn.Profile): names, language, time zone and the
-- operator's custom attributes as one JSON object. version counts writes:
-- it is the account API's ETag, and PutProfile refuses a stale one.
CREATE TABLE profiles (
	user_id      TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	display_name TEXT NOT NULL DEFAULT '',
	given_name   TEXT NOT NULL DEFAULT '',
	family_name  TEXT NOT NULL DEFAULT '',
	locale       TEXT NOT NULL DEFAULT '',
	time_zone    TEXT NOT NULL DEFAULT '',
	attributes   TEXT NOT NULL DEFAULT '{}',
	version      INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL
);
