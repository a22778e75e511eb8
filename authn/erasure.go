package authn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/engine"
)

// Erasure (GDPR Art. 17, CCPA delete). DELETE /v1/account records a
// request due after AccountConfig.DeletionGrace; signing in, or
// CancelDeletion, withdraws it. The ErasureJob then erases the account:
// the engine's state of the user, the consent ledger, every row of the
// account store, then the user_deleted event and the tombstone on the
// events topics. The admin API's delete runs the same erasure at once.

// Initiators of an erasure (ErasureRecord.Initiator).
const (
	InitiatorUser  = "user"
	InitiatorAdmin = "admin"
)

func errPrivacyOff() *Error {
	return newErr(CodeUnavailable, "account deletion and export are not available")
}

// privacyUser is the session and user behind sessionToken for the
// privacy rights (export, deletion); errPrivacyOff when the store has
// none, checked after the session so an anonymous caller learns nothing.
func (s *SelfService) privacyUser(ctx context.Context, sessionToken string) (Session, *User, error) {
	sess, u, err := s.sessionUser(ctx, sessionToken)
	if err != nil {
		return Session{}, nil, err
	}
	if s.priv.Store == nil {
		return Session{}, nil, errPrivacyOff()
	}
	return sess, u, nil
}

// RequestDeletion asks for the caller's account to be erased once the
// grace period has passed. It needs a fresh session (CodeReauthentication
// Required otherwise, like every security change), ends the caller's
// other sessions, mails a confirmation with the date and how to cancel,
// and is audited. A second request keeps the first's date.
func (s *SelfService) RequestDeletion(ctx context.Context, sessionToken string, c Client) (r *DeletionRequest, err error) {
	defer func() { s.metrics.result("deletion_request", err) }()
	sess, u, err := s.privacyUser(ctx, sessionToken)
	if err != nil {
		return nil, err
	}
	if _, err := (&Account{core: s.core}).requireFresh(ctx, sess); err != nil {
		return nil, err
	}
	// Whole milliseconds, which every store keeps: the stored request is
	// this one exactly when its time is now.
	now := s.clock.Now().Truncate(time.Millisecond)
	got, err := s.priv.Store.RequestDeletion(ctx, DeletionRequest{UserID: u.ID, RequestedAt: now, DueAt: now.Add(s.cfg.Account.DeletionGrace)})
	if err != nil {
		return nil, err
	}
	if _, err := s.sessions.RevokeOtherSessions(ctx, u.ID, sess.ID, now); err != nil {
		return nil, err
	}
	if got.RequestedAt.Equal(now) {
		rc, email, due := s.requestContext(c), u.Email, got.DueAt
		s.deliver(ctx, mail.KindAccountDeletion, email, func() (mail.Message, error) {
			return s.render.AccountDeletion(email, due, rc)
		})
		s.emit(secevent.DeletionRequested, u, c, sess.ID, map[string]string{"due": got.DueAt.UTC().Format(time.RFC3339)})
	}
	return &got, nil
}

// DeletionStatus returns the caller's pending erasure request, nil when
// there is none.
func (s *SelfService) DeletionStatus(ctx context.Context, sessionToken string) (r *DeletionRequest, err error) {
	defer func() { s.metrics.result("deletion_status", err) }()
	_, u, err := s.privacyUser(ctx, sessionToken)
	if err != nil {
		return nil, err
	}
	got, err := s.priv.Store.PendingDeletion(ctx, u.ID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &got, nil
}

// CancelDeletion withdraws the caller's erasure request and reports
// whether there was one. No re-authentication: keeping an account is
// never a risk to it.
func (s *SelfService) CancelDeletion(ctx context.Context, sessionToken string, c Client) (cancelled bool, err error) {
	defer func() { s.metrics.result("deletion_cancel", err) }()
	sess, u, err := s.privacyUser(ctx, sessionToken)
	if err != nil {
		return false, err
	}
	ok, err := s.priv.Store.CancelDeletion(ctx, u.ID)
	if err != nil {
		return false, err
	}
	if ok {
		s.emit(secevent.DeletionCancelled, u, c, sess.ID, map[string]string{"by": "request"})
	}
	return ok, nil
}

// cancelDeletionOnSignIn withdraws a pending erasure request when its
// owner signs in: the grace period's promise. Best effort, like the
// activity write beside it.
func (s *core) cancelDeletionOnSignIn(ctx context.Context, u *User, c Client, sessionID string) {
	if s.priv.Store == nil {
		return
	}
	ok, err := s.priv.Store.CancelDeletion(ctx, u.ID)
	if err != nil {
		s.log.Warn("erasure request not cancelled by the sign-in", "user_id", u.ID, "err", err)
		return
	}
	if ok {
		s.emit(secevent.DeletionCancelled, u, c, sessionID, map[string]string{"by": "sign_in"})
	}
}

// erase carries out the erasure of u: the engine's state (the profile,
// counters and pending evaluations under the user id and under the
// address, as events naming the user only by it are keyed), the consent
// ledger, then the account store, whose row goes last so that a failure
// leaves the request for the next round. announce emits the user_deleted
// event; the tombstone and the scrub of local trail files follow it, so
// that they remove it too where it names the user.
func (s *core) erase(ctx context.Context, u *User, requestedAt time.Time, initiator string, announce func()) (engine.ErasedState, error) {
	var st engine.ErasedState
	if s.priv.State != nil {
		var err error
		if st, err = s.priv.State.EraseUser(ctx, u.ID, engine.UserKey("", u.Email)); err != nil {
			return st, fmt.Errorf("authn: erase the risk state: %w", err)
		}
	}
	if s.self.consents != nil {
		// The account's cascade would take them too; explicit, so that
		// the erasure does not depend on a foreign key.
		if _, err := s.self.consents.DeleteConsents(ctx, u.ID); err != nil {
			return st, fmt.Errorf("authn: erase the consents: %w", err)
		}
	}
	rec := ErasureRecord{Subject: s.subjectHash(u.ID), RequestedAt: requestedAt, ErasedAt: s.clock.Now(), Initiator: initiator}
	if err := s.priv.Store.EraseUser(ctx, u.ID, rec); err != nil {
		return st, err
	}
	announce()
	if s.priv.Events != nil {
		s.priv.Events.Forget(u.ID, u.Email)
	}
	for _, f := range s.priv.Files {
		f.Forget(u.ID, u.Email)
	}
	return st, nil
}

// ErasureJob carries out the erasure requests that are due, in the
// background: one instance at a time (ErasureLocker), the others skip the
// round. Its work is a metric.
type ErasureJob struct {
	c      *core
	log    *slog.Logger
	erased *prometheus.CounterVec
	runs   *prometheus.CounterVec
}

// erasureBatch bounds the requests one round reads at a time.
const erasureBatch = 100

// NewErasureJob builds the job over the services' core; reg receives
// riskauth_authn_erasures_total and riskauth_authn_erasure_runs_total.
// It returns nil when the privacy rights are off (no Deps.Privacy.Store).
func NewErasureJob(s *Services, reg prometheus.Registerer) *ErasureJob {
	c := s.SignIn.core
	if c.priv.Store == nil {
		return nil
	}
	j := &ErasureJob{c: c, log: c.log,
		erased: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "riskauth", Subsystem: "authn", Name: "erasures_total",
			Help: "Accounts erased (GDPR Art. 17), by initiator (user: a due request, admin: the admin API's delete) and result (ok, error).",
		}, []string{"initiator", "result"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "riskauth", Subsystem: "authn", Name: "erasure_runs_total",
			Help: "Erasure job rounds by result: ok, skipped (another instance holds the lock) or error.",
		}, []string{"result"}),
	}
	reg.MustRegister(j.erased, j.runs)
	c.erasures = j.erased
	return j
}

// RunOnce erases every account whose request is due and returns how
// many; ran is false when another instance holds the lock. One failing
// account does not stop the others; the first error is returned.
func (j *ErasureJob) RunOnce(ctx context.Context) (n int, ran bool, err error) {
	c := j.c
	lock := c.priv.Locker
	release, ok := func() {}, true
	if lock != nil {
		if release, ok, err = lock.LockErasure(ctx); err != nil {
			j.runs.WithLabelValues("error").Inc()
			return 0, false, err
		}
	}
	if !ok {
		j.runs.WithLabelValues("skipped").Inc()
		return 0, false, nil
	}
	defer release()
	failed := map[string]bool{}
	for {
		due, err := c.priv.Store.DueDeletions(ctx, c.clock.Now(), erasureBatch+len(failed))
		if err != nil {
			j.runs.WithLabelValues("error").Inc()
			return n, true, err
		}
		progress := false
		for _, r := range due {
			if failed[r.UserID] {
				continue
			}
			progress = true
			if e := j.eraseDue(ctx, r); e != nil {
				failed[r.UserID] = true
				err = errors.Join(err, e)
				continue
			}
			n++
		}
		if !progress {
			break
		}
	}
	if len(failed) > 0 {
		j.runs.WithLabelValues("error").Inc()
		return n, true, err
	}
	j.runs.WithLabelValues("ok").Inc()
	return n, true, nil
}

// eraseDue erases the account of one due request.
func (j *ErasureJob) eraseDue(ctx context.Context, r DeletionRequest) error {
	c := j.c
	u, err := c.users.UserByID(ctx, r.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil // gone meanwhile (the request went with it)
	}
	if err != nil {
		return err
	}
	st, err := c.erase(ctx, &u, r.RequestedAt, InitiatorUser, func() {
		c.emit(secevent.UserDeleted, &User{ID: u.ID}, Client{}, "", map[string]string{"initiator": InitiatorUser,
			"requested_at": r.RequestedAt.UTC().Format(time.RFC3339)})
	})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	j.erased.WithLabelValues(InitiatorUser, resultLabel(err)).Inc()
	if err != nil {
		j.log.Warn("erasure failed; retried next round", "err", err)
		return err
	}
	j.log.Info("account erased", "counters", st.Counters, "pending", st.Pending)
	return nil
}

func resultLabel(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

// Run runs RunOnce every interval until ctx ends.
func (j *ErasureJob) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, _, err := j.RunOnce(ctx); err != nil {
			j.log.Warn("erasure job", "err", err)
		} else if n > 0 {
			j.log.Info("erasure job", "erased", n)
		}
	}
}
