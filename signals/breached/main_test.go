package breached

import (
	"os"
	"testing"

	"github.com/riskauth/riskauth/internal/leaf/testenv"
)

// TestMain keeps the process-wide loggers quiet: the range client's
// breaker tests trip it on purpose, and it logs each state change to
// slog.Default().
func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
