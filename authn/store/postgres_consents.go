package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/riskauth/riskauth/authn"
)

var _ authn.ConsentStore = (*Postgres)(nil)

// AppendConsents implements authn.ConsentStore: one batch, in one
// transaction.
func (s *Postgres) AppendConsents(ctx context.Context, recs []authn.ConsentRecord) error {
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, r := range recs {
			b.Queue(`INSERT INTO consents (`+consentCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
				r.ID, r.UserID, r.Purpose, r.Version, string(r.Action), r.At, r.Source, r.App, r.IP, r.UserAgent, r.SessionID)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return mapInsertError(err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: append consents: %w", err)
	}
	return nil
}

// ConsentHistory implements authn.ConsentStore.
func (s *Postgres) ConsentHistory(ctx context.Context, userID string) ([]authn.ConsentRecord, error) {
	rows, err := s.db.Query(ctx, `SELECT `+consentCols+` FROM consents WHERE user_id = $1 ORDER BY at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: consent history: %w", err)
	}
	defer rows.Close()
	var out []authn.ConsentRecord
	for rows.Next() {
		var (
			r      authn.ConsentRecord
			action string
		)
		if err := rows.Scan(&r.ID, &r.UserID, &r.Purpose, &r.Version, &action, &r.At, &r.Source, &r.App, &r.IP, &r.UserAgent,
			&r.SessionID); err != nil {
			return nil, fmt.Errorf("store: consent history: %w", err)
		}
		r.Action, r.At = authn.ConsentAction(action), r.At.UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: consent history: %w", err)
	}
	return out, nil
}

// Preferences implements authn.ConsentStore.
func (s *Postgres) Preferences(ctx context.Context, userID string) (authn.Preferences, error) {
	var (
		p                authn.Preferences
		channels, topics []byte
	)
	err := s.db.QueryRow(ctx, `SELECT `+preferenceCols+` FROM preferences WHERE user_id = $1`, userID).Scan(
		&p.UserID, &channels, &topics, &p.Language, &p.Version, &p.UpdatedAt)
	if errors.Is(pgNotFound(err), authn.ErrNotFound) {
		return authn.Preferences{UserID: userID}, nil
	}
	if err != nil {
		return authn.Preferences{}, fmt.Errorf("store: preferences: %w", err)
	}
	p.UpdatedAt = p.UpdatedAt.UTC()
	if p.Channels, err = decodeList(channels); err != nil {
		return authn.Preferences{}, err
	}
	if p.Topics, err = decodeList(topics); err != nil {
		return authn.Preferences{}, err
	}
	return p, nil
}

// PutPreferences implements authn.ConsentStore: an insert for version 0
// (a second writer's insert hits the primary key), an update guarded by
// the version otherwise.
func (s *Postgres) PutPreferences(ctx context.Context, p authn.Preferences, expect int64) error {
	var err error
	if expect == 0 {
		_, err = s.db.Exec(ctx, `INSERT INTO preferences (`+preferenceCols+`) VALUES ($1, $2::jsonb, $3::jsonb, $4, 1, $5)`,
			p.UserID, encodeList(p.Channels), encodeList(p.Topics), p.Language, p.UpdatedAt)
		if err != nil {
			return fmt.Errorf("store: put preferences: %w", mapInsertError(err))
		}
		return nil
	}
	err = pgAffected(s.db.Exec(ctx, `UPDATE preferences SET channels = $1::jsonb, topics = $2::jsonb, language = $3,
		version = version + 1, updated_at = $4 WHERE user_id = $5 AND version = $6`,
		encodeList(p.Channels), encodeList(p.Topics), p.Language, p.UpdatedAt, p.UserID, expect))
	if errors.Is(err, authn.ErrNotFound) {
		err = authn.ErrConflict
	}
	if err != nil {
		return fmt.Errorf("store: put preferences: %w", err)
	}
	return nil
}

// DeleteConsents implements authn.ConsentStore: the ledger, the
// preferences and the email change records in one transaction.
func (s *Postgres) DeleteConsents(ctx context.Context, userID string) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		for _, q := range []string{`DELETE FROM consents WHERE user_id = $1`, `DELETE FROM preferences WHERE user_id = $1`,
			`DELETE FROM email_changes WHERE user_id = $1`} {
			tag, err := tx.Exec(ctx, q, userID)
			if err != nil {
				return err
			}
			n += tag.RowsAffected()
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete consents: %w", err)
	}
	return n, nil
}
