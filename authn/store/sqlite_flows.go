package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riskauth/riskauth/authn"
)

// The flow statements, one constant each so that the query-plan test
// (plan_test.go) explains exactly what runs.
const (
	sqliteInsertFlow  = `INSERT INTO login_flows (` + flowCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqliteFlowByID    = `SELECT ` + flowCols + ` FROM login_flows WHERE id = ? AND expires_at > ?`
	sqliteAdvanceFlow = `UPDATE login_flows
		SET state = ?, password_verified = MAX(password_verified, ?), updated_at = ?,
			evaluation_id = COALESCE(NULLIF(?, ''), evaluation_id),
			decision = COALESCE(NULLIF(?, ''), decision),
			methods = COALESCE(?, methods)
		WHERE id = ? AND state = ? AND expires_at > ?
		RETURNING ` + flowCols
	sqliteFlowExists = `SELECT count(*) FROM login_flows WHERE id = ? AND expires_at > ?`
)

func scanSQLiteFlow(r rowScanner) (authn.LoginFlow, error) {
	var (
		f                         authn.LoginFlow
		user                      sql.NullString
		methods                   string
		created, updated, expires int64
		verified                  int
	)
	if err := r.Scan(&f.ID, &user, &f.Identifier, &f.EvaluationID, &f.Decision, &methods, &f.State,
		&created, &updated, &expires, &verified); err != nil {
		return authn.LoginFlow{}, err
	}
	if err := json.Unmarshal([]byte(methods), &f.Methods); err != nil {
		return authn.LoginFlow{}, fmt.Errorf("corrupt methods: %w", err)
	}
	f.UserID, f.PasswordVerified = user.String, verified != 0
	f.CreatedAt, f.UpdatedAt, f.ExpiresAt = fromMs(created), fromMs(updated), fromMs(expires)
	return f, nil
}

// CreateFlow implements authn.FlowStore.
func (s *SQLite) CreateFlow(ctx context.Context, f authn.LoginFlow) error {
	methods, err := json.Marshal(f.Methods)
	if err != nil {
		return fmt.Errorf("store: create flow: %w", err)
	}
	if f.Methods == nil {
		methods = []byte("[]")
	}
	updated := f.UpdatedAt
	if updated.IsZero() {
		updated = f.CreatedAt
	}
	_, err = s.write.ExecContext(ctx, sqliteInsertFlow,
		f.ID, nullStr(f.UserID), f.Identifier, f.EvaluationID, f.Decision, string(methods), f.State,
		ms(f.CreatedAt), ms(updated), ms(f.ExpiresAt), boolInt(f.PasswordVerified))
	if err != nil {
		return fmt.Errorf("store: create flow: %w", mapInsertError(err))
	}
	return nil
}

// FlowByID implements authn.FlowStore.
func (s *SQLite) FlowByID(ctx context.Context, id string, now time.Time) (authn.LoginFlow, error) {
	f, err := scanSQLiteFlow(s.read.QueryRowContext(ctx, sqliteFlowByID, id, ms(now)))
	if err != nil {
		return authn.LoginFlow{}, fmt.Errorf("store: flow by id: %w", notFound(err))
	}
	return f, nil
}

// AdvanceFlow implements authn.FlowStore.
func (s *SQLite) AdvanceFlow(ctx context.Context, id string, tr authn.FlowTransition, now time.Time) (authn.LoginFlow, error) {
	var f authn.LoginFlow
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		var methods any // NULL keeps the current methods
		if tr.Methods != nil {
			b, err := json.Marshal(tr.Methods)
			if err != nil {
				return err
			}
			methods = string(b)
		}
		f, err = scanSQLiteFlow(tx.QueryRowContext(ctx, sqliteAdvanceFlow, tr.To, boolInt(tr.PasswordVerified), ms(now),
			tr.EvaluationID, tr.Decision, methods, id, tr.From, ms(now)))
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// Tell a lost race (the flow exists, in another state) from a
		// flow that is gone.
		var n int
		if err := tx.QueryRowContext(ctx, sqliteFlowExists,
			id, ms(now)).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return authn.ErrConflict
		}
		return authn.ErrNotFound
	})
	if err != nil {
		return authn.LoginFlow{}, fmt.Errorf("store: advance flow: %w", err)
	}
	return f, nil
}
