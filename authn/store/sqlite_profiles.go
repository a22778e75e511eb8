package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/riskauth/riskauth/authn"
)

var _ authn.ProfileStore = (*SQLite)(nil)

// Profile implements authn.ProfileStore.
func (s *SQLite) Profile(ctx context.Context, userID string) (authn.Profile, error) {
	var (
		p       authn.Profile
		attrs   []byte
		updated int64
	)
	err := s.read.QueryRowContext(ctx, `SELECT `+profileCols+` FROM profiles WHERE user_id = ?`, userID).Scan(
		&p.UserID, &p.DisplayName, &p.GivenName, &p.FamilyName, &p.Locale, &p.TimeZone, &attrs, &p.Version, &updated)
	if errors.Is(notFound(err), authn.ErrNotFound) {
		return authn.Profile{UserID: userID, Attributes: map[string]any{}}, nil
	}
	if err != nil {
		return authn.Profile{}, fmt.Errorf("store: profile: %w", err)
	}
	p.UpdatedAt = fromMs(updated)
	if p.Attributes, err = decodeAttributes(attrs); err != nil {
		return authn.Profile{}, err
	}
	return p, nil
}

// PutProfile implements authn.ProfileStore: an insert for version 0 (a
// second writer's insert hits the primary key), an update guarded by the
// version otherwise.
func (s *SQLite) PutProfile(ctx context.Context, p authn.Profile, expect int64) error {
	attrs, err := encodeAttributes(p.Attributes)
	if err != nil {
		return err
	}
	if expect == 0 {
		_, err = s.write.ExecContext(ctx, `INSERT INTO profiles (`+profileCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)`,
			p.UserID, p.DisplayName, p.GivenName, p.FamilyName, p.Locale, p.TimeZone, string(attrs), ms(p.UpdatedAt))
		if err != nil {
			return fmt.Errorf("store: put profile: %w", mapInsertError(err))
		}
		return nil
	}
	err = affected(s.write.ExecContext(ctx, `UPDATE profiles SET display_name = ?, given_name = ?, family_name = ?, locale = ?,
		time_zone = ?, attributes = ?, version = version + 1, updated_at = ? WHERE user_id = ? AND version = ?`,
		p.DisplayName, p.GivenName, p.FamilyName, p.Locale, p.TimeZone, string(attrs), ms(p.UpdatedAt), p.UserID, expect))
	if errors.Is(err, authn.ErrNotFound) {
		err = authn.ErrConflict
	}
	if err != nil {
		return fmt.Errorf("store: put profile: %w", err)
	}
	return nil
}
