package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskauth/riskauth/authn"
)

var (
	_ authn.ErasureStore  = (*Postgres)(nil)
	_ authn.ErasureLocker = (*Postgres)(nil)
	_ authn.ErasureLog    = (*Postgres)(nil)
)

// erasureLockKey is the PostgreSQL advisory lock the erasure job holds
// for a whole round, so that one instance at a time erases ("rter").
const erasureLockKey = 0x72746572

// RequestDeletion implements authn.ErasureStore.
func (s *Postgres) RequestDeletion(ctx context.Context, r authn.DeletionRequest) (authn.DeletionRequest, error) {
	got := authn.DeletionRequest{UserID: r.UserID}
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO deletion_requests (user_id, requested_at, due_at) VALUES ($1, $2, $3)
			ON CONFLICT (user_id) DO NOTHING`, r.UserID, r.RequestedAt, r.DueAt); err != nil {
			return mapInsertError(err)
		}
		return tx.QueryRow(ctx, `SELECT requested_at, due_at FROM deletion_requests WHERE user_id = $1`, r.UserID).
			Scan(&got.RequestedAt, &got.DueAt)
	})
	if err != nil {
		return authn.DeletionRequest{}, fmt.Errorf("store: request deletion: %w", pgNotFound(err))
	}
	got.RequestedAt, got.DueAt = got.RequestedAt.UTC(), got.DueAt.UTC()
	return got, nil
}

// CancelDeletion implements authn.ErasureStore.
func (s *Postgres) CancelDeletion(ctx context.Context, userID string) (bool, error) {
	tag, err := s.db.Exec(ctx, `DELETE FROM deletion_requests WHERE user_id = $1`, userID)
	if err != nil {
		return false, fmt.Errorf("store: cancel deletion: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

// PendingDeletion implements authn.ErasureStore.
func (s *Postgres) PendingDeletion(ctx context.Context, userID string) (authn.DeletionRequest, error) {
	r := authn.DeletionRequest{UserID: userID}
	err := s.db.QueryRow(ctx, `SELECT requested_at, due_at FROM deletion_requests WHERE user_id = $1`, userID).Scan(&r.RequestedAt, &r.DueAt)
	if err != nil {
		return authn.DeletionRequest{}, fmt.Errorf("store: pending deletion: %w", pgNotFound(err))
	}
	r.RequestedAt, r.DueAt = r.RequestedAt.UTC(), r.DueAt.UTC()
	return r, nil
}

// DueDeletions implements authn.ErasureStore.
func (s *Postgres) DueDeletions(ctx context.Context, now time.Time, limit int) ([]authn.DeletionRequest, error) {
	rows, err := s.db.Query(ctx, `SELECT user_id, requested_at, due_at FROM deletion_requests WHERE due_at <= $1
		ORDER BY due_at, user_id LIMIT $2`, now, limit)
	if err != nil {
		return nil, fmt.Errorf("store: due deletions: %w", err)
	}
	defer rows.Close()
	var out []authn.DeletionRequest
	for rows.Next() {
		var r authn.DeletionRequest
		if err := rows.Scan(&r.UserID, &r.RequestedAt, &r.DueAt); err != nil {
			return nil, fmt.Errorf("store: due deletions: %w", err)
		}
		r.RequestedAt, r.DueAt = r.RequestedAt.UTC(), r.DueAt.UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// EraseUser implements authn.ErasureStore: the account row, whose
// foreign keys cascade to every table keyed by the user, and the record,
// in one transaction. The dead tuples are PostgreSQL's to vacuum; no
// query sees them (see docs/privacy.md).
func (s *Postgres) EraseUser(ctx context.Context, userID string, rec authn.ErasureRecord) error {
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := pgAffected(tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, userID)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO erasures (subject, requested_at, erased_at, initiator) VALUES ($1, $2, $3, $4)
			ON CONFLICT (subject) DO NOTHING`, rec.Subject, pgNullTime(rec.RequestedAt), rec.ErasedAt, rec.Initiator)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: erase user: %w", err)
	}
	return nil
}

// ErasureOf implements authn.ErasureLog.
func (s *Postgres) ErasureOf(ctx context.Context, subject []byte) (authn.ErasureRecord, error) {
	rec := authn.ErasureRecord{Subject: subject}
	var req *time.Time
	err := s.db.QueryRow(ctx, `SELECT requested_at, erased_at, initiator FROM erasures WHERE subject = $1`, subject).
		Scan(&req, &rec.ErasedAt, &rec.Initiator)
	if err != nil {
		return authn.ErasureRecord{}, fmt.Errorf("store: erasure: %w", pgNotFound(err))
	}
	rec.RequestedAt, rec.ErasedAt = pgTime(req), rec.ErasedAt.UTC()
	return rec, nil
}

// LockErasure implements authn.ErasureLocker with a session advisory
// lock on a connection held for the round: another instance's try fails
// (ok false) until release.
func (s *Postgres) LockErasure(ctx context.Context) (func(), bool, error) {
	conn, err := s.db.pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("store: erasure lock: %w", s.db.fail(err))
	}
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, int64(erasureLockKey)).Scan(&ok); err != nil || !ok {
		conn.Release()
		if err != nil {
			return nil, false, fmt.Errorf("store: erasure lock: %w", s.db.fail(err))
		}
		return nil, false, nil
	}
	return func() {
		// A bounded unlock of its own: the round's context may be done.
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock($1)`, int64(erasureLockKey)); err != nil {
			// The lock dies with the connection.
			_ = conn.Conn().Close(uctx)
		}
		conn.Release()
	}, true, nil
}

var _ authn.UnverifiedSweeper = (*Postgres)(nil)

// DeleteUnverifiedBefore implements authn.UnverifiedSweeper under the
// retention job's transaction-scoped advisory lock, like the activity's.
func (s *Postgres) DeleteUnverifiedBefore(ctx context.Context, before time.Time, limit int) (n int64, ran bool, err error) {
	err = s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, int64(retentionLockKey)).Scan(&ran); err != nil || !ran {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM users WHERE id IN (SELECT u.id FROM users u
			WHERE u.email_verified_at IS NULL AND u.created_at < $1
			AND NOT EXISTS (SELECT 1 FROM user_imports i WHERE i.user_id = u.id)
			AND NOT EXISTS (SELECT 1 FROM sessions x WHERE x.user_id = u.id AND x.last_seen_at >= $1)
			LIMIT $2)`, before, limit)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("store: unverified retention: %w", err)
	}
	return n, ran, nil
}
