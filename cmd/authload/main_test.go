package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMain lets the test binary be the -spawn child, as the command is.
func TestMain(m *testing.M) {
	if len(os.Args) == 2 && os.Args[1] == "-serve-child" {
		os.Exit(serveChild())
	}
	os.Exit(m.Run())
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	for _, bad := range [][]string{
		{"-phase", "login"}, {"-duration", "0s"}, {"-duration", "6m"}, {"-raw", "0s"}, {"-settle", "-1s"},
		{"-blocked", "0s"}, {"-sign-ins", "-1"}, {"-sign-ins", "6000001"}, {"-users", "0"}, {"-users", "100001"}, {"-concurrency", "0"}, {"-concurrency", "300"},
		{"-legit-rate", "0"}, {"-legit-rate", "NaN"}, {"-attack-multiplier", "0"}, {"-attack-multiplier", "1001"},
		{"-attack-ips", "0"}, {"-attack-ips", "257"}, {"-argon-memory-kib", "4"},
		{"extra"}, {"-no-such-flag"},
	} {
		_, err := parseFlags(bad)
		assert.Error(t, err, "%v", bad)
	}
	cfg, err := parseFlags(nil)
	require.NoError(t, err)
	assert.Equal(t, phaseAll, cfg.phase)
	assert.Equal(t, 20*time.Second, cfg.duration)
	assert.Equal(t, 5.0, cfg.legitRate)
	assert.Equal(t, 10.0, cfg.attackMultiplier)
	assert.Zero(t, cfg.memoryKiB, "the server's own argon2id defaults")
	assert.Zero(t, cfg.signIns, "the sign-in phase is bounded by -duration alone")
	cfg, err = parseFlags([]string{"-phase", "stuffing", "-duration", "3s", "-sign-ins", "1000", "-users", "50", "-legit-rate", "2.5",
		"-attack-multiplier", "3", "-spawn", "-argon-memory-kib", "1024", "-argon-time", "1"})
	require.NoError(t, err)
	assert.Equal(t, config{phase: phaseStuffing, duration: 3 * time.Second, signIns: 1000, raw: 4 * time.Second, settle: 2 * time.Second,
		blocked: 4 * time.Second, users: 50, concurrency: 8, legitRate: 2.5, attackMultiplier: 3, attackIPs: 4, spawn: true,
		seed: 1, memoryKiB: 1024, argonTime: 1}, cfg)
}

// The traffic is the same for the same seed; every legitimate user has an
// address in a /24 of its own and a device with its own cookie id; the
// attacker comes from exactly attackIPs addresses.
func TestTraffic(t *testing.T) {
	t.Parallel()
	a, b := genTraffic(3, 200, 4, 1000), genTraffic(3, 200, 4, 1000)
	require.Equal(t, a, b)
	require.Len(t, a.emails, 400)
	subnets, cookies := map[netip.Prefix]bool{}, map[string]bool{}
	for _, c := range a.legit {
		ip := netip.MustParseAddr(c.ip)
		p, _ := ip.Prefix(24)
		assert.False(t, subnets[p], "shared /24 %s", p)
		subnets[p] = true
		var body struct {
			Identifier, Password string
			Client               struct {
				Device struct {
					CookieID string `json:"cookie_id"`
				}
			}
		}
		require.NoError(t, json.Unmarshal(c.body, &body))
		assert.Equal(t, legitPassword, body.Password)
		assert.False(t, cookies[body.Client.Device.CookieID])
		cookies[body.Client.Device.CookieID] = true
	}
	ips, victims := map[string]bool{}, 0
	for _, c := range a.attackers {
		ips[c.ip] = true
		assert.False(t, subnets[netip.MustParsePrefix(c.ip+"/24").Masked()], "attacker shares a user's /24")
		if bytes.Contains(c.body, []byte("victim")) {
			victims++
		}
		assert.NotContains(t, string(c.body), legitPassword)
	}
	assert.Len(t, ips, 4)
	assert.InDelta(t, 500, victims, 1)
}

// signInsBound keeps a test run's successful sign-ins (the warm-up, the
// sign-in phase and the 20 of the stuffing phase) under the familiarity
// model's cold start of 1000: 200 uniform synthetic users score about -3
// on a warm model, on the default unfamiliar-login threshold (see the
// package documentation), so some legitimate sign-ins would step up once
// more were counted. Bounded by time alone, a quiet fast machine counted
// more and failed "every sign-in succeeds", a loaded one fewer and passed.
const signInsBound = "600"

// A tiny bounded run of both phases against the in-process server with
// cheap argon2id: every legitimate sign-in succeeds (no step-up), every
// attack attempt is refused, and blocked attempts hash nothing. Cheap
// hashes mean hundreds of sign-ins/s, so there are enough users to keep
// each one under the ip-burst rule (30 attempts per address and minute),
// and the sign-in phase ends after signInsBound sign-ins (or 1s on a slow
// machine), so that the engine sees the same population either way.
func TestRunBothPhases(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server for a few seconds")
	}
	// The attack must be long enough for every attacking address to be
	// blocked before the attack-alone phase, also when a loaded machine
	// measures a low raw rate (the attack rate derives from it): 0.2x for
	// 0.3 s left one address under the rules' thresholds on a busy CI run.
	// (At 1x, password-spraying-ip blocks each of the 4 addresses after
	// about 10 failures: the 1.6s of attack need a raw rate of some 30
	// verifications/s; a loaded 2-core machine measures hundreds.)
	cfg, err := parseFlags([]string{"-duration", "1s", "-sign-ins", signInsBound, "-raw", "300ms", "-settle", "600ms", "-blocked", "400ms",
		"-users", "200", "-concurrency", "4", "-legit-rate", "10", "-attack-multiplier", "1",
		"-argon-memory-kib", "1024", "-argon-time", "1"})
	require.NoError(t, err)
	var out bytes.Buffer
	res, err := run(context.Background(), cfg, &out)
	require.NoError(t, err, out.String())
	s := out.String()
	t.Log(s)
	assert.Contains(t, s, "sign-in / raw argon2id")
	assert.Contains(t, s, "legitimate p99 under attack / alone")
	assert.Contains(t, s, "CPU per blocked attempt")

	assert.Positive(t, res.rawBefore)
	assert.Positive(t, res.rawAfter)
	assert.Positive(t, res.signIn.n[outAuthenticated])
	assert.LessOrEqual(t, res.signIn.total(), cfg.signIns)
	assert.Equal(t, res.signIn.n[outAuthenticated], res.signIn.total(), "every sign-in succeeds: %s", res.signIn.mix())
	for _, l := range []*tally{res.legitAlone, res.legitB} {
		assert.Equal(t, int64(10), l.total())
		assert.Equal(t, l.total(), l.n[outAuthenticated], l.mix())
	}
	assert.Positive(t, res.attack.total())
	// The attacker never gets in: each attempt is refused, or, when the
	// password hasher's queue is full on a loaded machine, answered busy
	// (the same for every account). How many are busy is the machine's
	// speed, not a verdict.
	assert.Zero(t, res.attack.n[outAuthenticated], res.attack.mix())
	assert.Equal(t, res.attack.total(), res.attack.n[outFailed]+res.attack.n[outBusy], res.attack.mix())
	for _, c := range []*tally{res.blockedOnly, res.saturated} {
		assert.Positive(t, c.total())
		assert.Equal(t, c.total(), c.n[outFailed], c.mix())
	}
	assert.Zero(t, res.blockedHashes, "a blocked attempt hashed")
	assert.Zero(t, res.saturatedHashes, "a blocked attempt hashed")
	assert.Positive(t, res.cpuPerBlockedSat)
}

// -phase sign-in stops after the sign-in phase; -spawn runs the server as
// a child process of the test binary (see TestMain).
func TestRunSignInSpawned(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server for a few seconds")
	}
	cfg, err := parseFlags([]string{"-phase", "sign-in", "-spawn", "-duration", "500ms", "-sign-ins", signInsBound, "-raw", "200ms",
		"-users", "100", "-concurrency", "2", "-argon-memory-kib", "1024", "-argon-time", "1"})
	require.NoError(t, err)
	var out bytes.Buffer
	res, err := run(context.Background(), cfg, &out)
	require.NoError(t, err, out.String())
	assert.Contains(t, out.String(), "server in a child process")
	assert.NotContains(t, out.String(), "legitimate p99")
	assert.Positive(t, res.signIn.n[outAuthenticated])
	assert.Equal(t, res.signIn.n[outAuthenticated], res.signIn.total(), res.signIn.mix())
	assert.Nil(t, res.legitAlone)
}

func TestClassify(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		status int
		body   string
		want   outcome
	}{
		{200, `{"status":"authenticated","session":{}}`, outAuthenticated},
		{200, `{"status":"second_factor_required","flow_id":"x"}`, outStepUp},
		{401, `{"error":{"code":"login_failed","message":"m"}}`, outFailed},
		{503, `{"error":{"code":"busy"}}`, outBusy},
		{415, `{"error":{"code":"unsupported_media_type"}}`, outOther},
	} {
		assert.Equal(t, c.want, classify(nil, c.status, []byte(c.body)), "%d %s", c.status, c.body)
	}
	assert.Equal(t, outError, classify(assert.AnError, 0, nil))
	assert.True(t, strings.HasPrefix(outcomeNames[outStepUp], "step_up"))
}
