package store

// Column lists shared by the SQLite and PostgreSQL stores: both schemas
// (migrations/*/0001_init.sql) name and order the columns alike.

const flowCols = `id, user_id, identifier, evaluation_id, decision, methods, state,
	created_at, updated_at, expires_at, password_verified`

const totpCols = `id, user_id, sealed_secret, created_at, confirmed_at, last_used_step`

const sessionCols = `id, token_hash, user_id, created_at, last_seen_at, idle_expires_at, absolute_expires_at,
	aal, device_id, ip, user_agent, revoked_at`

const tokenCols = `id, kind, hash, user_id, flow_id, created_at, expires_at, attempts, max_attempts, used_at`

const userCols = `id, email, email_verified_at, password_hash, password_changed_at, created_at, updated_at, disabled`
