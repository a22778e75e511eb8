package storetest

import (
	"context"
	"testing"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/oidc"
)

// Store is everything the suite exercises: all authn store interfaces and
// Close. Declared here, by its consumer, rather than in authn, because no
// flow should ever need all of it.
type Store interface {
	authn.UserStore
	authn.TOTPStore
	authn.RecoveryCodeStore
	authn.SessionStore
	authn.SessionManager
	authn.Sweeper
	authn.TokenStore
	authn.FlowStore
	authn.AttemptStore
	authn.EventCounter
	authn.FlowClientStore
	authn.ProfileStore
	authn.DeviceStore
	authn.ActivityStore
	authn.ConsentStore
	authn.EmailChangeStore
	authn.SignInRecorder
	authn.UserDirectory
	authn.ErasureStore
	authn.ErasureLocker
	authn.ErasureLog
	authn.UnverifiedSweeper
	authn.RequiredActionStore
	oidc.Store
	Close() error
}

// Database is one empty database made for one test (a SQLite file, a
// PostgreSQL schema), removed by the test's cleanup.
type Database struct {
	// Open opens a store on the database, applying migrations; every call
	// opens a new handle on the same database. The caller closes it.
	Open func(ctx context.Context) (Store, error)
	// Exec runs raw SQL on the database behind the store's back, to stage
	// what another binary would have done (a newer migration).
	Exec func(ctx context.Context, query string) error
	// QueryInt runs a query returning one integer.
	QueryInt func(ctx context.Context, query string) (int64, error)
}

// NewDatabase makes a fresh Database for tb.
type NewDatabase func(tb testing.TB) Database
