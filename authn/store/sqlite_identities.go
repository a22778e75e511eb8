package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/riskauth/riskauth/authn"
)

// Linked upstream identities and pending links (authn.IdentityBackend).
const (
	sqliteLinkIdentity = `INSERT INTO upstream_identities (id, user_id, provider, issuer, subject, email, linked_at, last_used_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	sqliteIdentityCols      = `id, user_id, provider, issuer, subject, email, linked_at, last_used_at`
	sqliteIdentityBySubject = `SELECT ` + sqliteIdentityCols + ` FROM upstream_identities WHERE issuer = ? AND subject = ?`
	sqliteIdentities        = `SELECT ` + sqliteIdentityCols + ` FROM upstream_identities WHERE user_id = ? ORDER BY linked_at, id`
	sqliteUnlinkIdentity    = `DELETE FROM upstream_identities WHERE user_id = ? AND id = ?`
	sqliteTouchIdentity     = `UPDATE upstream_identities SET last_used_at = ? WHERE id = ?`
	sqlitePurgePendingLinks = `DELETE FROM upstream_pending_links WHERE expires_at <= ?`
	sqliteSavePendingLink   = `INSERT INTO upstream_pending_links (flow_id, user_id, provider, issuer, subject, email, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (flow_id) DO UPDATE SET user_id = excluded.user_id, provider = excluded.provider,
		issuer = excluded.issuer, subject = excluded.subject, email = excluded.email, expires_at = excluded.expires_at`
	sqliteTakePendingLink = `DELETE FROM upstream_pending_links WHERE flow_id = ? AND expires_at > ?
		RETURNING flow_id, user_id, provider, issuer, subject, email, expires_at`
)

var _ authn.IdentityBackend = (*SQLite)(nil)

// LinkIdentity implements authn.IdentityStore.
func (s *SQLite) LinkIdentity(ctx context.Context, li authn.LinkedIdentity) error {
	if _, err := s.write.ExecContext(ctx, sqliteLinkIdentity, li.ID, li.UserID, li.Provider, li.Issuer, li.Subject, li.Email,
		ms(li.LinkedAt), ms(li.LastUsedAt)); err != nil {
		return fmt.Errorf("store: link identity: %w", mapInsertError(err))
	}
	return nil
}

func scanSQLiteIdentity(row rowScanner) (authn.LinkedIdentity, error) {
	var li authn.LinkedIdentity
	var linked, used int64
	if err := row.Scan(&li.ID, &li.UserID, &li.Provider, &li.Issuer, &li.Subject, &li.Email, &linked, &used); err != nil {
		return li, notFound(err)
	}
	li.LinkedAt, li.LastUsedAt = fromMs(linked), fromMs(used)
	return li, nil
}

// IdentityBySubject implements authn.IdentityStore.
func (s *SQLite) IdentityBySubject(ctx context.Context, issuer, subject string) (authn.LinkedIdentity, error) {
	li, err := scanSQLiteIdentity(s.read.QueryRowContext(ctx, sqliteIdentityBySubject, issuer, subject))
	if err != nil {
		return li, fmt.Errorf("store: identity: %w", err)
	}
	return li, nil
}

// Identities implements authn.IdentityStore.
func (s *SQLite) Identities(ctx context.Context, userID string) ([]authn.LinkedIdentity, error) {
	rows, err := s.read.QueryContext(ctx, sqliteIdentities, userID)
	if err != nil {
		return nil, fmt.Errorf("store: identities: %w", err)
	}
	defer rows.Close()
	var out []authn.LinkedIdentity
	for rows.Next() {
		li, err := scanSQLiteIdentity(rows)
		if err != nil {
			return nil, fmt.Errorf("store: identities: %w", err)
		}
		out = append(out, li)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: identities: %w", err)
	}
	return out, nil
}

// UnlinkIdentity implements authn.IdentityStore.
func (s *SQLite) UnlinkIdentity(ctx context.Context, userID, id string) error {
	if err := affected(s.write.ExecContext(ctx, sqliteUnlinkIdentity, userID, id)); err != nil {
		return fmt.Errorf("store: unlink identity: %w", err)
	}
	return nil
}

// TouchIdentity implements authn.IdentityStore.
func (s *SQLite) TouchIdentity(ctx context.Context, id string, at time.Time) error {
	if _, err := s.write.ExecContext(ctx, sqliteTouchIdentity, ms(at), id); err != nil {
		return fmt.Errorf("store: touch identity: %w", err)
	}
	return nil
}

// SavePendingLink implements authn.PendingLinkStore; expired pending
// links are purged on the way.
func (s *SQLite) SavePendingLink(ctx context.Context, pl authn.PendingLink, now time.Time) error {
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, sqlitePurgePendingLinks, ms(now)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, sqliteSavePendingLink, pl.FlowID, pl.UserID, pl.Provider, pl.Issuer, pl.Subject, pl.Email, ms(pl.ExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: save pending link: %w", mapInsertError(err))
	}
	return nil
}

// TakePendingLink implements authn.PendingLinkStore.
func (s *SQLite) TakePendingLink(ctx context.Context, flowID string, now time.Time) (authn.PendingLink, error) {
	var pl authn.PendingLink
	var exp int64
	err := s.write.QueryRowContext(ctx, sqliteTakePendingLink, flowID, ms(now)).Scan(&pl.FlowID, &pl.UserID, &pl.Provider,
		&pl.Issuer, &pl.Subject, &pl.Email, &exp)
	if err != nil {
		return pl, fmt.Errorf("store: take pending link: %w", notFound(err))
	}
	pl.ExpiresAt = fromMs(exp)
	return pl, nil
}
