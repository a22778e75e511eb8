// Package testenv finds the throw-away servers the test command starts
// (scripts/test.sh) and decides what a test does when one is missing: skip on
// a developer laptop, fail under CI (CI=true), because a skipped integration
// test there would hide a regression.
package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Environment variables set by scripts/test.sh.
const (
	EnvRedisAddr    = "RISKAUTH_TEST_REDIS_ADDR"    // host:port of a standalone Redis
	EnvRedisCluster = "RISKAUTH_TEST_REDIS_CLUSTER" // comma-separated host:port of a Redis Cluster
	EnvPostgresURL  = "RISKAUTH_TEST_POSTGRES_URL"  // postgres:// URL of a throw-away database
)

// CI reports whether the tests run under CI, where nothing may be skipped.
func CI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1"
}

// Require returns the value of an environment variable naming a test
// server; when it is unset the test is skipped, or fails under CI.
func Require(t testing.TB, name string) string {
	t.Helper()
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		if CI() {
			t.Fatalf("%s is not set under CI: the test command must start this server", name)
		}
		t.Skipf("%s not set: run the test command (scripts/test.sh) to start the server", name)
	}
	return v
}

// RedisAddr returns the standalone Redis address.
func RedisAddr(t testing.TB) string { return Require(t, EnvRedisAddr) }

// RedisCluster returns the Redis Cluster node addresses.
func RedisCluster(t testing.TB) []string {
	return strings.Split(Require(t, EnvRedisCluster), ",")
}

// ChromiumPath is where Debian's chromium package installs the browser.
const ChromiumPath = "/usr/bin/chromium"

// Chromium returns the path of the browser that browser tests drive; when
// it is missing the test is skipped, or fails under CI (.ci/run installs
// the chromium package).
func Chromium(t testing.TB) string {
	t.Helper()
	if fi, err := os.Stat(ChromiumPath); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return ChromiumPath
	}
	if CI() {
		t.Fatalf("%s is missing under CI: install the chromium package", ChromiumPath)
	}
	t.Skipf("%s not installed: browser tests skipped", ChromiumPath)
	return ""
}

// Promtool returns the path of promtool (Debian's prometheus package),
// which checks and unit-tests the Prometheus rules in deploy/prometheus;
// when it is missing the test is skipped, or fails under CI (.ci/run
// installs the package).
func Promtool(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("promtool"); err == nil {
		return p
	}
	if CI() {
		t.Fatal("promtool is missing under CI: install the prometheus package")
	}
	t.Skip("promtool not installed (Debian package prometheus): Prometheus rule tests skipped")
	return ""
}

// Podman returns the path of podman, which builds the container image of
// deploy/container (scripts/build-image.sh); when it is missing the test
// is skipped, or fails under CI (.ci/run installs the package).
func Podman(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("podman"); err == nil {
		return p
	}
	if CI() {
		t.Fatal("podman is missing under CI: install the podman package")
	}
	t.Skip("podman not installed (Debian package podman): container image test skipped")
	return ""
}
