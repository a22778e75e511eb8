package daemon

import (
	"os"
	"testing"

	"github.com/riskauth/riskauth/internal/leaf/testenv"
)

// TestMain keeps the process-wide loggers quiet: TestRedisReadiness points
// the server at a dead Redis address on purpose.
func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
