-- Issue 19's migrations are numbered 0010-0019; versions need only be
-- unique, and the runner applies any that is missing.

-- The user's profile (authn.Profile): names, language, time zone and the
-- operator's custom attributes as one JSON object. version counts writes:
-- it is the account API's ETag, and PutProfile refuses a stale one.
CREATE TABLE profiles (
	user_id      text PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	display_name text NOT NULL DEFAULT '',
	given_name   text NOT NULL DEFAULT '',
	family_name  text NOT NULL DEFAULT '',
	locale       text NOT NULL DEFAULT '',
	time_zone    text NOT NULL DEFAULT '',
	attributes   jsonb NOT NULL DEFAULT '{}',
	version      bigint NOT NULL,
	updated_at   timestamptz NOT NULL
);
