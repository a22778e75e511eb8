package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskauth/riskauth/authn"
)

// Linked upstream identities and pending links (authn.IdentityBackend).
const (
	pgLinkIdentity = `INSERT INTO upstream_identities (id, user_id, provider, issuer, subject, email, linked_at, last_used_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	pgIdentityCols      = `id, user_id, provider, issuer, subject, email, linked_at, last_used_at`
	pgIdentityBySubject = `SELECT ` + pgIdentityCols + ` FROM upstream_identities WHERE issuer = $1 AND subject = $2`
	pgIdentities        = `SELECT ` + pgIdentityCols + ` FROM upstream_identities WHERE user_id = $1 ORDER BY linked_at, id`
	pgUnlinkIdentity    = `DELETE FROM upstream_identities WHERE user_id = $1 AND id = $2`
	pgTouchIdentity     = `UPDATE upstream_identities SET last_used_at = $1 WHERE id = $2`
	pgPurgePendingLinks = `DELETE FROM upstream_pending_links WHERE expires_at <= $1`
	pgSavePendingLink   = `INSERT INTO upstream_pending_links (flow_id, user_id, provider, issuer, subject, email, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (flow_id) DO UPDATE SET user_id = excluded.user_id, provider = excluded.provider,
		issuer = excluded.issuer, subject = excluded.subject, email = excluded.email, expires_at = excluded.expires_at`
	pgTakePendingLink = `DELETE FROM upstream_pending_links WHERE flow_id = $1 AND expires_at > $2
		RETURNING flow_id, user_id, provider, issuer, subject, email, expires_at`
)

var _ authn.IdentityBackend = (*Postgres)(nil)

// LinkIdentity implements authn.IdentityStore.
func (s *Postgres) LinkIdentity(ctx context.Context, li authn.LinkedIdentity) error {
	if _, err := s.db.Exec(ctx, pgLinkIdentity, li.ID, li.UserID, li.Provider, li.Issuer, li.Subject, li.Email,
		li.LinkedAt, li.LastUsedAt); err != nil {
		return fmt.Errorf("store: link identity: %w", mapInsertError(err))
	}
	return nil
}

func scanPgIdentity(row pgx.Row) (authn.LinkedIdentity, error) {
	var li authn.LinkedIdentity

	if err := row.Scan(&li.ID, &li.UserID, &li.Provider, &li.Issuer, &li.Subject, &li.Email, &li.LinkedAt, &li.LastUsedAt); err != nil {
		return li, pgNotFound(err)
	}
	li.LinkedAt, li.LastUsedAt = li.LinkedAt.UTC(), li.LastUsedAt.UTC()
	return li, nil
}

// IdentityBySubject implements authn.IdentityStore.
func (s *Postgres) IdentityBySubject(ctx context.Context, issuer, subject string) (authn.LinkedIdentity, error) {
	li, err := scanPgIdentity(s.db.QueryRow(ctx, pgIdentityBySubject, issuer, subject))
	if err != nil {
		return li, fmt.Errorf("store: identity: %w", err)
	}
	return li, nil
}

// Identities implements authn.IdentityStore.
func (s *Postgres) Identities(ctx context.Context, userID string) ([]authn.LinkedIdentity, error) {
	rows, err := s.db.Query(ctx, pgIdentities, userID)
	if err != nil {
		return nil, fmt.Errorf("store: identities: %w", err)
	}
	defer rows.Close()
	var out []authn.LinkedIdentity
	for rows.Next() {
		li, err := scanPgIdentity(rows)
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
func (s *Postgres) UnlinkIdentity(ctx context.Context, userID, id string) error {
	if err := pgAffected(s.db.Exec(ctx, pgUnlinkIdentity, userID, id)); err != nil {
		return fmt.Errorf("store: unlink identity: %w", err)
	}
	return nil
}

// TouchIdentity implements authn.IdentityStore.
func (s *Postgres) TouchIdentity(ctx context.Context, id string, at time.Time) error {
	if _, err := s.db.Exec(ctx, pgTouchIdentity, at, id); err != nil {
		return fmt.Errorf("store: touch identity: %w", err)
	}
	return nil
}

// SavePendingLink implements authn.PendingLinkStore; expired pending
// links are purged on the way.
func (s *Postgres) SavePendingLink(ctx context.Context, pl authn.PendingLink, now time.Time) error {
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, pgPurgePendingLinks, now); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, pgSavePendingLink, pl.FlowID, pl.UserID, pl.Provider, pl.Issuer, pl.Subject, pl.Email, pl.ExpiresAt)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: save pending link: %w", mapInsertError(err))
	}
	return nil
}

// TakePendingLink implements authn.PendingLinkStore.
func (s *Postgres) TakePendingLink(ctx context.Context, flowID string, now time.Time) (authn.PendingLink, error) {
	var pl authn.PendingLink
	err := s.db.QueryRow(ctx, pgTakePendingLink, flowID, now).Scan(&pl.FlowID, &pl.UserID, &pl.Provider,
		&pl.Issuer, &pl.Subject, &pl.Email, &pl.ExpiresAt)
	if err != nil {
		return pl, fmt.Errorf("store: take pending link: %w", pgNotFound(err))
	}
	pl.ExpiresAt = pl.ExpiresAt.UTC()
	return pl, nil
}
