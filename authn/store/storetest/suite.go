package storetest

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riskauth/riskauth/authn"
	"github.com/stretchr/testify/require"
)

// t0 is the suite's virtual "now"; every time is derived from it. Whole
// milliseconds, the finest precision every backend keeps.
var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// concurrency is how many goroutines race for one single-use thing.
const concurrency = 64

// Run runs the whole conformance suite. newDB is called for each subtest.
func Run(t *testing.T, newDB NewDatabase) {
	groups := []struct {
		name string
		fn   func(t *testing.T, newDB NewDatabase)
	}{
		{"Users", testUsers},
		{"Directory", testDirectory},
		{"Imports", testImports},
		{"TOTP", testTOTP},
		{"RecoveryCodes", testRecoveryCodes},
		{"Sessions", testSessions},
		{"Tokens", testTokens},
		{"Flows", testFlows},
		{"Attempts", testAttempts},
		{"Counters", testCounters},
		{"FlowClients", testFlowClients},
		{"Profiles", testProfiles},
		{"AttributeSearch", testAttributeSearch},
		{"RequiredActions", testRequiredActions},
		{"Devices", testDevices},
		{"Activity", testActivity},
		{"RecordSignIn", testRecordSignIn},
		{"DeletionRequests", testDeletionRequests},
		{"EraseUser", testEraseUser},
		{"UnverifiedRetention", testUnverifiedRetention},
		{"Consents", testConsents},
		{"EmailChanges", testEmailChanges},
		{"OIDC", testOIDC},
		{"Passkeys", testPasskeys},
		{"OIDCConsents", testOIDCConsents},
		{"OIDCRPSessions", testOIDCRPSessions},
		{"OIDCDevice", testOIDCDevice},
		{"OIDCClients", testOIDCClients},
		{"OIDCAssertions", testOIDCAssertions},
		{"OIDCHygiene", testOIDCHygiene},
		{"Identities", testIdentities},
		{"Sweeper", testSweeper},
		{"Migrations", testMigrations},
		{"ConcurrentSignIns", testConcurrentSignIns},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			g.fn(t, newDB)
		})
	}
}

// open opens a store on a fresh database, closed when tb ends.
func open(tb testing.TB, newDB NewDatabase) Store {
	tb.Helper()
	s, err := newDB(tb).Open(tb.Context())
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func newID(tb testing.TB) string {
	tb.Helper()
	id, err := uuid.NewV7()
	require.NoError(tb, err)
	return id.String()
}

func randBytes(tb testing.TB) []byte {
	tb.Helper()
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(tb, err)
	return b
}

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// mkUser creates an account with the given email.
func mkUser(tb testing.TB, s Store, email string) authn.User {
	tb.Helper()
	u := authn.User{ID: newID(tb), Email: email, PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		CreatedAt: t0, UpdatedAt: t0}
	require.NoError(tb, s.CreateUser(tb.Context(), u))
	return u
}

// race runs fn concurrently n times, starting them together, and returns
// how many returned nil; every other error must match want.
func race(t *testing.T, n int, want error, fn func(i int) error) int {
	t.Helper()
	var (
		wins  atomic.Int64
		start = make(chan struct{})
		wg    sync.WaitGroup
		mu    sync.Mutex
		bad   []error
	)
	for i := range n {
		wg.Go(func() {
			<-start
			err := fn(i)
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, want):
				mu.Lock()
				bad = append(bad, err)
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	require.Empty(t, bad, "unexpected errors (want %v)", want)
	return int(wins.Load())
}
