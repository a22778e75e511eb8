package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/riskauth/riskauth/authn"
)

var _ authn.UserImporter = (*SQLite)(nil)

// ImportUsers implements authn.UserImporter: the lookups and the inserts
// of a batch in one write transaction, statements prepared once.
func (s *SQLite) ImportUsers(ctx context.Context, us []authn.ImportedUser, dryRun bool) ([]authn.ImportOutcome, error) {
	var out []authn.ImportOutcome
	// A batch is an operator's bulk import: the sweeper's longer deadline.
	ctx = withBudget(ctx, SweepTimeout)
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		imported, taken := map[string]string{}, map[string]bool{}
		byExt, err := tx.PrepareContext(ctx, `SELECT user_id FROM user_imports WHERE external_id = ?`)
		if err != nil {
			return err
		}
		defer byExt.Close()
		byEmail, err := tx.PrepareContext(ctx, `SELECT 1 FROM users WHERE email = ?`)
		if err != nil {
			return err
		}
		defer byEmail.Close()
		for _, u := range us {
			var id string
			switch err := byExt.QueryRowContext(ctx, u.ExternalID).Scan(&id); {
			case err == nil:
				imported[u.ExternalID] = id
				continue
			case err != sql.ErrNoRows:
				return err
			}
			var one int
			switch err := byEmail.QueryRowContext(ctx, u.User.Email).Scan(&one); {
			case err == nil:
				taken[strings.ToLower(u.User.Email)] = true
			case err != sql.ErrNoRows:
				return err
			}
		}
		out = importPlan(us, imported, taken)
		if dryRun {
			return nil
		}
		insUser, err := tx.PrepareContext(ctx, `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer insUser.Close()
		insImport, err := tx.PrepareContext(ctx, `INSERT INTO user_imports (external_id, user_id, imported_at) VALUES (?, ?, ?)`)
		if err != nil {
			return err
		}
		defer insImport.Close()
		insTOTP, err := tx.PrepareContext(ctx, `INSERT INTO totp_factors (`+totpCols+`) VALUES (?, ?, ?, ?, ?, 0)`)
		if err != nil {
			return err
		}
		defer insTOTP.Close()
		insProfile, err := tx.PrepareContext(ctx, `INSERT INTO profiles (`+profileCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)`)
		if err != nil {
			return err
		}
		defer insProfile.Close()
		for i, iu := range us {
			if out[i].Status != authn.ImportCreated {
				continue
			}
			u := iu.User
			if _, err := insUser.ExecContext(ctx, u.ID, u.Email, nullMs(u.EmailVerifiedAt), u.PasswordHash, nullMs(u.PasswordChangedAt),
				ms(u.CreatedAt), ms(u.UpdatedAt), boolInt(u.Disabled)); err != nil {
				return mapInsertError(err)
			}
			if _, err := insImport.ExecContext(ctx, iu.ExternalID, u.ID, ms(u.UpdatedAt)); err != nil {
				return mapInsertError(err)
			}
			if f := iu.TOTP; f != nil {
				if _, err := insTOTP.ExecContext(ctx, f.ID, u.ID, f.SealedSecret, ms(f.CreatedAt), nullMs(f.ConfirmedAt)); err != nil {
					return mapInsertError(err)
				}
			}
			if p := iu.Profile; p != nil {
				attrs, err := encodeAttributes(p.Attributes)
				if err != nil {
					return err
				}
				if _, err := insProfile.ExecContext(ctx, u.ID, p.DisplayName, p.GivenName, p.FamilyName, p.Locale, p.TimeZone,
					string(attrs), ms(p.UpdatedAt)); err != nil {
					return mapInsertError(err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: import users: %w", err)
	}
	return out, nil
}
