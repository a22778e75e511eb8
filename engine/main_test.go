package engine_test

import (
	"os"
	"testing"

	"github.com/riskauth/riskauth/internal/leaf/testenv"
)

// TestMain keeps the process-wide loggers quiet: TestUnavailableSignalsFloor
// points a Redis client at a dead address on purpose.
func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
