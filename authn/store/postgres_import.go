package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskauth/riskauth/authn"
)

var _ authn.UserImporter = (*Postgres)(nil)

// ImportUsers implements authn.UserImporter: two lookups for the whole
// batch (= ANY of arrays) and one multi-row insert per table (unnest of
// arrays), in one transaction: a batch costs a handful of round trips
// whatever its size.
func (s *Postgres) ImportUsers(ctx context.Context, us []authn.ImportedUser, dryRun bool) ([]authn.ImportOutcome, error) {
	var out []authn.ImportOutcome
	// A batch is an operator's bulk import: the sweeper's longer deadline.
	ctx = withBudget(ctx, SweepTimeout)
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		exts, emails := make([]string, len(us)), make([]string, len(us))
		for i, u := range us {
			exts[i], emails[i] = u.ExternalID, strings.ToLower(u.User.Email)
		}
		imported, taken := map[string]string{}, map[string]bool{}
		rows, err := tx.Query(ctx, `SELECT external_id, user_id FROM user_imports WHERE external_id = ANY($1)`, exts)
		if err != nil {
			return err
		}
		for rows.Next() {
			var ext, id string
			if err := rows.Scan(&ext, &id); err != nil {
				rows.Close()
				return err
			}
			imported[ext] = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT lower(email) FROM users WHERE lower(email) = ANY($1)`, emails)
		if err != nil {
			return err
		}
		for rows.Next() {
			var e string
			if err := rows.Scan(&e); err != nil {
				rows.Close()
				return err
			}
			taken[e] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		out = importPlan(us, imported, taken)
		if dryRun {
			return nil
		}
		return pgInsertImported(ctx, tx, us, out)
	})
	if err != nil {
		return nil, fmt.Errorf("store: import users: %w", mapInsertError(err))
	}
	return out, nil
}

func pgInsertImported(ctx context.Context, tx pgx.Tx, us []authn.ImportedUser, out []authn.ImportOutcome) error {
	var (
		ids, emails, hashes, exts           []string
		verified, changed, created, updated []*time.Time
		disabled                            []bool
		fIDs, fUsers                        []string
		fSecrets                            [][]byte
		fCreated, fConfirmed                []time.Time
		pUsers, pDisplay, pGiven, pFamily   []string
		pLocale, pZone, pAttrs              []string
		pUpdated                            []time.Time
	)
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	for i, iu := range us {
		if out[i].Status != authn.ImportCreated {
			continue
		}
		u := iu.User
		ids, emails, hashes, exts = append(ids, u.ID), append(emails, u.Email), append(hashes, u.PasswordHash), append(exts, iu.ExternalID)
		verified, changed = append(verified, opt(u.EmailVerifiedAt)), append(changed, opt(u.PasswordChangedAt))
		created, updated = append(created, opt(u.CreatedAt)), append(updated, opt(u.UpdatedAt))
		disabled = append(disabled, u.Disabled)
		if f := iu.TOTP; f != nil {
			fIDs, fUsers, fSecrets = append(fIDs, f.ID), append(fUsers, u.ID), append(fSecrets, f.SealedSecret)
			fCreated, fConfirmed = append(fCreated, f.CreatedAt), append(fConfirmed, f.ConfirmedAt)
		}
		if p := iu.Profile; p != nil {
			attrs, err := encodeAttributes(p.Attributes)
			if err != nil {
				return err
			}
			pUsers, pDisplay, pGiven, pFamily = append(pUsers, u.ID), append(pDisplay, p.DisplayName), append(pGiven, p.GivenName), append(pFamily, p.FamilyName)
			pLocale, pZone, pAttrs, pUpdated = append(pLocale, p.Locale), append(pZone, p.TimeZone), append(pAttrs, string(attrs)), append(pUpdated, p.UpdatedAt)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO users (`+userCols+`)
		SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::timestamptz[], $8::boolean[])`,
		ids, emails, verified, hashes, changed, created, updated, disabled); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO user_imports (external_id, user_id, imported_at)
		SELECT e, u, i FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS t(e, u, i)`, exts, ids, updated); err != nil {
		return err
	}
	if len(fIDs) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO totp_factors (`+totpCols+`)
			SELECT i, u, s, c, f, 0 FROM unnest($1::text[], $2::text[], $3::bytea[], $4::timestamptz[], $5::timestamptz[]) AS t(i, u, s, c, f)`,
			fIDs, fUsers, fSecrets, fCreated, fConfirmed); err != nil {
			return err
		}
	}
	if len(pUsers) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO profiles (`+profileCols+`)
			SELECT u, d, g, f, l, z, a::jsonb, 1, t FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[]) AS x(u, d, g, f, l, z, a, t)`,
			pUsers, pDisplay, pGiven, pFamily, pLocale, pZone, pAttrs, pUpdated); err != nil {
			return err
		}
	}
	return nil
}
