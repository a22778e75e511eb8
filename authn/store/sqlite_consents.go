package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/riskauth/riskauth/authn"
)

var _ authn.ConsentStore = (*SQLite)(nil)

// AppendConsents implements authn.ConsentStore.
func (s *SQLite) AppendConsents(ctx context.Context, recs []authn.ConsentRecord) error {
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, r := range recs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO consents (`+consentCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				r.ID, r.UserID, r.Purpose, r.Version, string(r.Action), ms(r.At), r.Source, r.App, r.IP, r.UserAgent,
				r.SessionID); err != nil {
				return mapInsertError(err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: append consents: %w", err)
	}
	return nil
}

// ConsentHistory implements authn.ConsentStore.
func (s *SQLite) ConsentHistory(ctx context.Context, userID string) ([]authn.ConsentRecord, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+consentCols+` FROM consents WHERE user_id = ? ORDER BY at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: consent history: %w", err)
	}
	defer rows.Close()
	var out []authn.ConsentRecord
	for rows.Next() {
		var (
			r      authn.ConsentRecord
			action string
			at     int64
		)
		if err := rows.Scan(&r.ID, &r.UserID, &r.Purpose, &r.Version, &action, &at, &r.Source, &r.App, &r.IP, &r.UserAgent,
			&r.SessionID); err != nil {
			return nil, fmt.Errorf("store: consent history: %w", err)
		}
		r.Action, r.At = authn.ConsentAction(action), fromMs(at)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: consent history: %w", err)
	}
	return out, nil
}

// Preferences implements authn.ConsentStore.
func (s *SQLite) Preferences(ctx context.Context, userID string) (authn.Preferences, error) {
	var (
		p               authn.Preferences
		channels, topic []byte
		updated         int64
	)
	err := s.read.QueryRowContext(ctx, `SELECT `+preferenceCols+` FROM preferences WHERE user_id = ?`, userID).Scan(
		&p.UserID, &channels, &topic, &p.Language, &p.Version, &updated)
	if errors.Is(notFound(err), authn.ErrNotFound) {
		return authn.Preferences{UserID: userID}, nil
	}
	if err != nil {
		return authn.Preferences{}, fmt.Errorf("store: preferences: %w", err)
	}
	p.UpdatedAt = fromMs(updated)
	if p.Channels, err = decodeList(channels); err != nil {
		return authn.Preferences{}, err
	}
	if p.Topics, err = decodeList(topic); err != nil {
		return authn.Preferences{}, err
	}
	return p, nil
}

// PutPreferences implements authn.ConsentStore: an insert for version 0
// (a second writer's insert hits the primary key), an update guarded by
// the version otherwise.
func (s *SQLite) PutPreferences(ctx context.Context, p authn.Preferences, expect int64) error {
	var err error
	if expect == 0 {
		_, err = s.write.ExecContext(ctx, `INSERT INTO preferences (`+preferenceCols+`) VALUES (?, ?, ?, ?, 1, ?)`,
			p.UserID, encodeList(p.Channels), encodeList(p.Topics), p.Language, ms(p.UpdatedAt))
		if err != nil {
			return fmt.Errorf("store: put preferences: %w", mapInsertError(err))
		}
		return nil
	}
	err = affected(s.write.ExecContext(ctx, `UPDATE preferences SET channels = ?, topics = ?, language = ?, version = version + 1,
		updated_at = ? WHERE user_id = ? AND version = ?`,
		encodeList(p.Channels), encodeList(p.Topics), p.Language, ms(p.UpdatedAt), p.UserID, expect))
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
func (s *SQLite) DeleteConsents(ctx context.Context, userID string) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, q := range []string{`DELETE FROM consents WHERE user_id = ?`, `DELETE FROM preferences WHERE user_id = ?`,
			`DELETE FROM email_changes WHERE user_id = ?`} {
			res, err := tx.ExecContext(ctx, q, userID)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete consents: %w", err)
	}
	return n, nil
}
