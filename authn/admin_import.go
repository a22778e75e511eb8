package authn

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/riskauth/riskauth/engine"

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
	// SignInsLearned is how many past sign-ins the engine learned for a
	// created account; Warning says why they were not (the account was
	// created all the same).
	SignInsLearned int
	Warning        string
}

// PastSignIn is a successful sign-in in the system a user was migrated
// from, for the risk engine to learn (HistoryLearner).
type PastSignIn struct {
	At        time.Time
	IP        netip.Addr
	UserAgent string
	DeviceID  string
}

// HistoryLearner is the part of the risk engine that learns a migrated
// user's past sign-ins (*engine.Engine implements it). Optional: an
// import without one stores the accounts and reports the sign-ins as
// not learned.
type HistoryLearner interface {
	LearnHistory(ctx context.Context, user string, past []engine.Event) (int, error)
}

var _ HistoryLearner = (*engine.Engine)(nil)

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
				s.learnHistory(ctx, &batch[j], r)
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
	if iu.Profile, err = s.importedProfile(u.ID, r, now); err != nil {
		return ImportedUser{}, err
	}
	for _, si := range r.SignIns {
		iu.SignIns = append(iu.SignIns, PastSignIn(si))
	}
	if r.TOTPSecret != "" {
		f := TOTPFactor{ID: newID(), UserID: u.ID, CreatedAt: now, ConfirmedAt: now}
		if f.SealedSecret, err = s.sealer.Seal([]byte(r.TOTPSecret), seal.AssociatedData(u.ID, f.ID)); err != nil {
			return ImportedUser{}, err
		}
		iu.TOTP = &f
	}
	return iu, nil
}

// importedProfile checks a line's profile and attributes against the
// declarations as an administrator's change (so attributes the owner
// may not edit can be imported); every problem is named in the error,
// and the line is refused whole. nil when the line has none.
func (s *Admin) importedProfile(userID string, r userimport.Record, now time.Time) (*Profile, error) {
	if len(r.ProfileFields) == 0 && len(r.Attributes) == 0 {
		return nil, nil
	}
	p := Profile{UserID: userID, Attributes: map[string]any{}, UpdatedAt: now}
	changed, problems := s.cfg.Account.applyAs(&p, ProfilePatch{Fields: r.ProfileFields, Attributes: r.Attributes}, true)
	if len(problems) > 0 {
		msgs := make([]string, len(problems))
		for i, f := range problems {
			field := f.Field
			if !strings.HasPrefix(field, "attributes.") {
				field = "profile." + field
			}
			msgs[i] = field + ": " + f.Message
		}
		return nil, errors.New(strings.Join(msgs, "; "))
	}
	if len(changed) == 0 {
		return nil, nil
	}
	return &p, nil
}

// learnHistory hands a created account's past sign-ins to the engine.
// A failure does not undo the account (it is stored): the result says
// so, and a re-run does not retry it (the account is then "existing").
func (s *Admin) learnHistory(ctx context.Context, iu *ImportedUser, r *ImportResult) {
	if len(iu.SignIns) == 0 {
		return
	}
	hl, ok := s.self.profiler.(HistoryLearner)
	if !ok {
		r.Warning = "past sign-ins not learned: the risk engine keeps no profiles here"
		return
	}
	evs := make([]engine.Event, len(iu.SignIns))
	for i, si := range iu.SignIns {
		evs[i] = engine.Event{Time: si.At, IP: si.IP, UserAgent: si.UserAgent}
		if si.DeviceID != "" {
			evs[i].Device = &engine.DeviceDescriptor{CookieID: si.DeviceID}
		}
	}
	n, err := hl.LearnHistory(ctx, iu.User.ID, evs)
	if err != nil {
		s.log.Warn("imported user's past sign-ins not learned", "user_id", iu.User.ID, "err", err)
		r.Warning = "past sign-ins not learned: " + err.Error()
		return
	}
	r.SignInsLearned = n
}
