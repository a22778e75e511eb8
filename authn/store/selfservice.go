package store

// Columns of the self-service tables (migrations/*/0011_devices_activity.sql).

const deviceCols = `user_id, device_id, name, user_agent, ip, city, country, first_seen, last_seen`

const activityCols = `id, user_id, at, kind, ip, city, country, device_id, user_agent, factor, decision, outcome,
	session_id, evaluation_id, disowned_at`

// retentionLockKey is the PostgreSQL advisory lock the retention job
// takes, so that one instance at a time deletes (an arbitrary constant:
// "rtnt").
const retentionLockKey = 0x72746e74
