package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/riskauth/riskauth/authn"
)

var _ authn.ProfileStore = (*Postgres)(nil)

// Profile implements authn.ProfileStore.
func (s *Postgres) Profile(ctx context.Context, userID string) (authn.Profile, error) {
	var (
		p     authn.Profile
		attrs []byte
	)
	err := s.db.QueryRow(ctx, `SELECT `+profileCols+` FROM profiles WHERE user_id = $1`, userID).Scan(
		&p.UserID, &p.DisplayName, &p.GivenName, &p.FamilyName, &p.Locale, &p.TimeZone, &attrs, &p.Version, &p.UpdatedAt)
	if errors.Is(pgNotFound(err), authn.ErrNotFound) {
		return authn.Profile{UserID: userID, Attributes: map[string]any{}}, nil
	}
	if err != nil {
		return authn.Profile{}, fmt.Errorf("store: profile: %w", err)
	}
	p.UpdatedAt = p.UpdatedAt.UTC()
	if p.Attributes, err = decodeAttributes(attrs); err != nil {
		return authn.Profile{}, err
	}
	return p, nil
}

// PutProfile implements authn.ProfileStore: an insert for version 0 (a
// second writer's insert hits the primary key), an update guarded by the
// version otherwise.
func (s *Postgres) PutProfile(ctx context.Context, p authn.Profile, expect int64) error {
	attrs, err := encodeAttributes(p.Attributes)
	if err != nil {
		return err
	}
	if expect == 0 {
		_, err = s.db.Exec(ctx, `INSERT INTO profiles (`+profileCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, 1, $8)`,
			p.UserID, p.DisplayName, p.GivenName, p.FamilyName, p.Locale, p.TimeZone, string(attrs), p.UpdatedAt)
		if err != nil {
			return fmt.Errorf("store: put profile: %w", mapInsertError(err))
		}
		return nil
	}
	err = pgAffected(s.db.Exec(ctx, `UPDATE profiles SET display_name = $1, given_name = $2, family_name = $3, locale = $4,
		time_zone = $5, attributes = $6::jsonb, version = version + 1, updated_at = $7 WHERE user_id = $8 AND version = $9`,
		p.DisplayName, p.GivenName, p.FamilyName, p.Locale, p.TimeZone, string(attrs), p.UpdatedAt, p.UserID, expect))
	if errors.Is(err, authn.ErrNotFound) {
		err = authn.ErrConflict
	}
	if err != nil {
		return fmt.Errorf("store: put profile: %w", err)
	}
	return nil
}
