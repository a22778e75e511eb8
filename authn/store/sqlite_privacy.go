package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/riskauth/riskauth/authn"
)

var (
	_ authn.ErasureStore  = (*SQLite)(nil)
	_ authn.ErasureLocker = (*SQLite)(nil)
	_ authn.ErasureLog    = (*SQLite)(nil)
)

// RequestDeletion implements authn.ErasureStore.
func (s *SQLite) RequestDeletion(ctx context.Context, r authn.DeletionRequest) (authn.DeletionRequest, error) {
	if _, err := s.write.ExecContext(ctx, `INSERT INTO deletion_requests (user_id, requested_at, due_at) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO NOTHING`, r.UserID, ms(r.RequestedAt), ms(r.DueAt)); err != nil {
		return authn.DeletionRequest{}, fmt.Errorf("store: request deletion: %w", mapInsertError(err))
	}
	got, err := s.pendingDeletion(ctx, s.write.QueryRowContext, r.UserID)
	if err != nil {
		return authn.DeletionRequest{}, fmt.Errorf("store: request deletion: %w", err)
	}
	return got, nil
}

// CancelDeletion implements authn.ErasureStore.
func (s *SQLite) CancelDeletion(ctx context.Context, userID string) (bool, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM deletion_requests WHERE user_id = ?`, userID)
	if err != nil {
		return false, fmt.Errorf("store: cancel deletion: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// PendingDeletion implements authn.ErasureStore.
func (s *SQLite) PendingDeletion(ctx context.Context, userID string) (authn.DeletionRequest, error) {
	r, err := s.pendingDeletion(ctx, s.read.QueryRowContext, userID)
	if err != nil {
		return authn.DeletionRequest{}, fmt.Errorf("store: pending deletion: %w", err)
	}
	return r, nil
}

func (s *SQLite) pendingDeletion(ctx context.Context, q func(context.Context, string, ...any) sqlRow, userID string) (authn.DeletionRequest, error) {
	r := authn.DeletionRequest{UserID: userID}
	var req, due int64
	if err := q(ctx, `SELECT requested_at, due_at FROM deletion_requests WHERE user_id = ?`, userID).Scan(&req, &due); err != nil {
		return r, notFound(err)
	}
	r.RequestedAt, r.DueAt = fromMs(req), fromMs(due)
	return r, nil
}

// DueDeletions implements authn.ErasureStore.
func (s *SQLite) DueDeletions(ctx context.Context, now time.Time, limit int) ([]authn.DeletionRequest, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT user_id, requested_at, due_at FROM deletion_requests WHERE due_at <= ?
		ORDER BY due_at, user_id LIMIT ?`, ms(now), limit)
	if err != nil {
		return nil, fmt.Errorf("store: due deletions: %w", err)
	}
	defer rows.Close()
	var out []authn.DeletionRequest
	for rows.Next() {
		var (
			r        authn.DeletionRequest
			req, due int64
		)
		if err := rows.Scan(&r.UserID, &req, &due); err != nil {
			return nil, fmt.Errorf("store: due deletions: %w", err)
		}
		r.RequestedAt, r.DueAt = fromMs(req), fromMs(due)
		out = append(out, r)
	}
	return out, rows.Err()
}

// EraseUser implements authn.ErasureStore: the account row, whose
// foreign keys cascade to every table keyed by the user, and the record,
// in one transaction; then a TRUNCATE checkpoint, so that the WAL no
// longer holds the rows' old page images (secure_delete zeroed them in
// the pages themselves).
func (s *SQLite) EraseUser(ctx context.Context, userID string, rec authn.ErasureRecord) error {
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := affected(tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, userID)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO erasures (subject, requested_at, erased_at, initiator) VALUES (?, ?, ?, ?)
			ON CONFLICT (subject) DO NOTHING`, rec.Subject, nullMs(rec.RequestedAt), ms(rec.ErasedAt), rec.Initiator)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: erase user: %w", err)
	}
	if _, err := s.write.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return fmt.Errorf("store: erase user: checkpoint: %w", err)
	}
	return nil
}

// ErasureOf implements authn.ErasureLog.
func (s *SQLite) ErasureOf(ctx context.Context, subject []byte) (authn.ErasureRecord, error) {
	rec := authn.ErasureRecord{Subject: subject}
	var (
		req    sql.NullInt64
		erased int64
	)
	err := s.read.QueryRowContext(ctx, `SELECT requested_at, erased_at, initiator FROM erasures WHERE subject = ?`, subject).
		Scan(&req, &erased, &rec.Initiator)
	if err != nil {
		return authn.ErasureRecord{}, fmt.Errorf("store: erasure: %w", notFound(err))
	}
	rec.RequestedAt, rec.ErasedAt = fromNullMs(req), fromMs(erased)
	return rec, nil
}

// LockErasure implements authn.ErasureLocker: SQLite is one process's
// file, so no other instance can run the job.
func (s *SQLite) LockErasure(context.Context) (func(), bool, error) { return func() {}, true, nil }

var _ authn.UnverifiedSweeper = (*SQLite)(nil)

// DeleteUnverifiedBefore implements authn.UnverifiedSweeper (one process's
// file: it always runs).
func (s *SQLite) DeleteUnverifiedBefore(ctx context.Context, before time.Time, limit int) (int64, bool, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM users WHERE id IN (SELECT u.id FROM users u
		WHERE u.email_verified_at IS NULL AND u.created_at < ?
		AND NOT EXISTS (SELECT 1 FROM user_imports i WHERE i.user_id = u.id)
		AND NOT EXISTS (SELECT 1 FROM sessions x WHERE x.user_id = u.id AND x.last_seen_at >= ?)
		LIMIT ?)`, ms(before), ms(before), limit)
	if err != nil {
		return 0, true, fmt.Errorf("store: unverified retention: %w", err)
	}
	n, err := res.RowsAffected()
	return n, true, err
}
