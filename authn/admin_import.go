package authn

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/riskauth/riskauth/authn/seal"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/authn/userimport"
)

// MaxImportBatch is the most users one ImportUsers call takes.
const MaxImportBatch = 5000

// ImportLine is one line of an import batch: its number in the file
// (for the report) and its bytes.
type ImportLine struct {
	N    int
	Data []byte
}

// ImportResult is what became of one line.
type ImportResult struct {
	Line   int
	Status ImportStatus // "" when the line was invalid
	UserID string
	Reason string // why the line was refused
}

// ImportUsers imports a batch of lines of the migration format
// (authn/userimport) for by: each line is checked whole (a bad one is
// reported with its reason and never half-written), addresses are
// normalised as registration does, TOTP secrets are sealed, and the
// valid users are created in one store transaction — or, with dryRun,
// only reported. Users imported before (by external id) are left alone,
// so a re-run, or a run resumed after an interruption, is safe.
// Passwords stay in their foreign hash until each user's next sign-in
// (checkForeign). Each created account is a user_created event (details
// source import, external_id, and who and why).
func (s *Admin) ImportUsers(ctx context.Context, lines []ImportLine, o userimport.Options, dryRun bool, by Actor) (res []ImportResult, err error) {
	defer func() { s.metrics.result("admin_import", err) }()
	if err := checkReason(by.Reason); err != nil {
		return nil, err
	}
	if len(lines) > MaxImportBatch {
		return nil, newErr(CodeInvalidRequest, "at most "+strconv.Itoa(MaxImportBatch)+" users per batch")
	}
	now := s.clock.Now()
	res = make([]ImportResult, len(lines))
	var batch []ImportedUser
	var at []int // index in res of each batch entry
	for i, l := range lines {
		res[i].Line = l.N
		u, err := s.importedUser(l.Data, o, now)
		if err != nil {
			res[i].Reason = err.Error()
			continue
		}
		batch = append(batch, u)
		at = append(at, i)
	}
	outs, err := s.dir.ImportUsers(ctx, batch, dryRun)
	if err != nil {
		return nil, err
	}
	for j, o := range outs {
		r := &res[at[j]]
		r.Status, r.UserID = o.Status, o.UserID
		switch o.Status {
		case ImportConflict:
			r.Reason = "the address (or the external id) belongs to another account"
		case ImportCreated:
			if !dryRun {
				// The lifecycle event of each new account, for the
				// systems that follow them (a full queue slows the
				// import down rather than dropping events).
				s.emit(secevent.UserCreated, &batch[j].User, by.Client, "", map[string]string{"admin": by.Name, "reason": by.Reason,
					"action": "import", "source": "import", "external_id": batch[j].ExternalID})
			}
		}
	}
	return res, nil
}

// importedUser checks one line and builds its account.
func (s *Admin) importedUser(line []byte, o userimport.Options, now time.Time) (ImportedUser, error) {
	r, err := userimport.ParseLine(line, o)
	if err != nil {
		return ImportedUser{}, err
	}
	email, err := NormalizeEmail(r.Email)
	if err != nil {
		return ImportedUser{}, errors.New("email is not a single valid address")
	}
	created := r.CreatedAt
	if created.IsZero() {
		created = now
	}
	u := User{ID: newID(), Email: email, PasswordHash: r.PasswordHash, CreatedAt: created, UpdatedAt: now, Disabled: r.Disabled}
	if r.Verified {
		u.EmailVerifiedAt = created
	}
	if r.PasswordHash != "" {
		u.PasswordChangedAt = created
	}
	iu := ImportedUser{User: u, ExternalID: r.ExternalID}
	if r.TOTPSecret != "" {
		f := TOTPFactor{ID: newID(), UserID: u.ID, CreatedAt: now, ConfirmedAt: now}
		if f.SealedSecret, err = s.sealer.Seal([]byte(r.TOTPSecret), seal.AssociatedData(u.ID, f.ID)); err != nil {
			return ImportedUser{}, err
		}
		iu.TOTP = &f
	}
	return iu, nil
}
