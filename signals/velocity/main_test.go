package velocity

import (
	"os"
	"testing"

	"github.com/riskauth/riskauth/internal/leaf/testenv"
)

// TestMain keeps the process-wide loggers quiet: several tests point Redis
// clients at a dead address on purpose.
func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
