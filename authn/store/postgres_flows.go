package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riskauth/riskauth/authn"
)

// The flow statements, one constant each so that the query-plan test
// (plan_test.go) explains exactly what runs.
const (
	pgInsertFlow  = `INSERT INTO login_flows (` + flowCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`
	pgFlowByID    = `SELECT ` + flowCols + ` FROM login_flows WHERE id = $1 AND expires_at > $2`
	pgAdvanceFlow = `UPDATE login_flows
		SET state = $1, password_verified = password_verified OR $2, updated_at = $3,
			evaluation_id = COALESCE(NULLIF($6, ''), evaluation_id),
			decision = COALESCE(NULLIF($7, ''), decision),
			methods = COALESCE($8, methods)
		WHERE id = $4 AND state = $5 AND expires_at > $3
		RETURNING ` + flowCols
	pgFlowExists = `SELECT EXISTS (SELECT 1 FROM login_flows WHERE id = $1 AND expires_at > $2)`
)

func scanPgFlow(r rowScanner) (authn.LoginFlow, error) {
	var (
		f    authn.LoginFlow
		user *string
	)
	if err := r.Scan(&f.ID, &user, &f.Identifier, &f.EvaluationID, &f.Decision, &f.Methods, &f.State,
		&f.CreatedAt, &f.UpdatedAt, &f.ExpiresAt, &f.PasswordVerified); err != nil {
		return authn.LoginFlow{}, err
	}
	if user != nil {
		f.UserID = *user
	}
	f.CreatedAt, f.UpdatedAt, f.ExpiresAt = f.CreatedAt.UTC(), f.UpdatedAt.UTC(), f.ExpiresAt.UTC()
	return f, nil
}

// CreateFlow implements authn.FlowStore.
func (s *Postgres) CreateFlow(ctx context.Context, f authn.LoginFlow) error {
	methods := f.Methods
	if methods == nil {
		methods = []string{}
	}
	updated := f.UpdatedAt
	if updated.IsZero() {
		updated = f.CreatedAt
	}
	_, err := s.db.Exec(ctx, pgInsertFlow,
		f.ID, nullStr(f.UserID), f.Identifier, f.EvaluationID, f.Decision, methods, f.State,
		f.CreatedAt, updated, f.ExpiresAt, f.PasswordVerified)
	if err != nil {
		return fmt.Errorf("store: create flow: %w", mapInsertError(err))
	}
	return nil
}

// FlowByID implements authn.FlowStore.
func (s *Postgres) FlowByID(ctx context.Context, id string, now time.Time) (authn.LoginFlow, error) {
	f, err := scanPgFlow(s.db.QueryRow(ctx, pgFlowByID, id, now))
	if err != nil {
		return authn.LoginFlow{}, fmt.Errorf("store: flow by id: %w", pgNotFound(err))
	}
	return f, nil
}

// AdvanceFlow implements authn.FlowStore.
func (s *Postgres) AdvanceFlow(ctx context.Context, id string, tr authn.FlowTransition, now time.Time) (authn.LoginFlow, error) {
	f, err := scanPgFlow(s.db.QueryRow(ctx, pgAdvanceFlow, tr.To, tr.PasswordVerified, now, id, tr.From, tr.EvaluationID, tr.Decision, tr.Methods))
	if errors.Is(err, pgx.ErrNoRows) {
		// Tell a lost race (the flow exists, in another state) from a
		// flow that is gone.
		var exists bool
		if err = s.db.QueryRow(ctx, pgFlowExists,
			id, now).Scan(&exists); err == nil {
			err = authn.ErrNotFound
			if exists {
				err = authn.ErrConflict
			}
		}
	}
	if err != nil {
		return authn.LoginFlow{}, fmt.Errorf("store: advance flow: %w", err)
	}
	return f, nil
}
