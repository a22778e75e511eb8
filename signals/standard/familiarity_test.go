package standard

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/engine/familiarity"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var discard = slog.New(slog.DiscardHandler)

// loadSnapshot reads the snapshot in dir as the next start would.
func loadSnapshot(t *testing.T, dir string) *familiarity.Global {
	t.Helper()
	s, err := openFamSnapshots(dir, familiarity.GlobalConfig{}, discard, time.Now, nil)
	require.NoError(t, err)
	return s.g
}

// TestFamiliaritySnapshotLoad: on embedded defaults the global counts
// survive a restart through the data dir; a missing or unreadable snapshot
// starts from zero without stopping the server.
func TestFamiliaritySnapshotLoad(t *testing.T) {
	t.Parallel()
	x := familiarity.Features{IP: "192.0.2.1", Country: "GB", DeviceID: "d_1"}
	valid := func(t *testing.T, file string) {
		g, err := familiarity.NewGlobal(familiarity.GlobalConfig{})
		require.NoError(t, err)
		g.Add(x)
		g.Add(x)
		g.AddUser()
		b, err := g.MarshalBinary()
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(file, b, 0o600))
	}
	for _, tc := range []struct {
		name       string
		write      func(t *testing.T, file string)
		wantLogins uint64
		wantUsers  uint64
	}{
		{name: "missing", write: func(*testing.T, string) {}},
		{name: "garbage", write: func(t *testing.T, file string) { require.NoError(t, os.WriteFile(file, []byte("garbage"), 0o600)) }},
		{name: "unreadable", write: func(t *testing.T, file string) { require.NoError(t, os.Mkdir(file, 0o700)) }},
		{name: "valid", write: valid, wantLogins: 2, wantUsers: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			tc.write(t, filepath.Join(dir, FamiliaritySnapshotFile))
			g := loadSnapshot(t, dir)
			assert.Equal(t, tc.wantLogins, g.Total())
			assert.Equal(t, tc.wantUsers, g.Users())
			assert.Equal(t, tc.wantLogins, g.Freq(familiarity.FeatureCountry, "GB"))
		})
	}
}

// snapshotRig is an assembly on embedded state in a data dir whose
// familiarity snapshot periods the test sends itself.
type snapshotRig struct {
	a     *Assembly
	ticks chan time.Time
	saved chan error
	clk   *clock.Manual
	dir   string
	reg   *prometheus.Registry
	n     int // sign-ins so far
}

func newSnapshotRig(t *testing.T, dir string) *snapshotRig {
	t.Helper()
	r := &snapshotRig{ticks: make(chan time.Time), saved: make(chan error), clk: clock.NewManual(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)),
		dir: dir, reg: prometheus.NewRegistry()}
	a, err := New(Config{DataDir: dir}, WithClock(r.clk), WithSignals(), WithRegisterer(r.reg),
		func(o *options) { o.famTicks, o.famSaved = r.ticks, r.saved })
	require.NoError(t, err)
	r.a = a
	a.Start(context.Background())
	return r
}

// signIns evaluates and reports n successful sign-ins spread over users
// distinct users (named after the sign-in's number), a minute apart.
func (r *snapshotRig) signIns(t *testing.T, n, users int) {
	t.Helper()
	for range n {
		r.clk.Advance(time.Minute)
		ev := engine.Event{Kind: engine.KindLogin, UserID: fmt.Sprintf("u%d", r.n%users), IP: netip.MustParseAddr("192.0.2.7"),
			UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}
		d, err := r.a.Engine.Evaluate(context.Background(), ev)
		require.NoError(t, err)
		_, err = r.a.Engine.RecordOutcome(context.Background(), d.EvaluationID, engine.OutcomeSuccess)
		require.NoError(t, err)
		r.n++
	}
}

// period ends one snapshot interval and returns its save's result once
// the save is done.
func (r *snapshotRig) period() error {
	r.ticks <- r.clk.Now()
	return <-r.saved
}

// TestFamiliaritySnapshotPeriodic: each period writes what was learnt
// since the last one, with no Close: the file on disk after N periods is
// what a restart after a crash loads. A period that learnt nothing writes
// nothing, and Close writes whatever the last period missed.
func TestFamiliaritySnapshotPeriodic(t *testing.T) {
	t.Parallel()
	r := newSnapshotRig(t, t.TempDir())
	file := filepath.Join(r.dir, FamiliaritySnapshotFile)
	live := r.a.famSnap.g
	for i, p := range []struct{ signIns, users int }{{3, 2}, {5, 5}, {0, 1}, {12, 7}} {
		r.signIns(t, p.signIns, p.users)
		require.NoError(t, r.period())
		disk := loadSnapshot(t, r.dir)
		assert.Equal(t, uint64(r.n), disk.Total(), "period %d: logins on disk", i+1)
		assert.Equal(t, live.Users(), disk.Users(), "period %d: users on disk", i+1)
		assert.Equal(t, live.Freq(familiarity.FeatureIP, "192.0.2.7"), disk.Freq(familiarity.FeatureIP, "192.0.2.7"))
	}
	assert.InDelta(t, float64(r.clk.Now().Unix()), testutil.ToFloat64(r.a.famSnap.m.lastSuccess), 1e-3, "last success is the clock's time")
	assert.Zero(t, testutil.ToFloat64(r.a.famSnap.m.errors))

	require.NoError(t, os.Remove(file))
	require.NoError(t, r.period())
	assert.NoFileExists(t, file, "nothing learnt: nothing written")

	r.signIns(t, 2, 2)
	require.NoError(t, r.a.Close())
	assert.Equal(t, uint64(r.n), loadSnapshot(t, r.dir).Total(), "Close writes the rest")
}

// TestFamiliaritySnapshotErrors: a failed periodic write is counted and
// leaves the server running; the next period retries.
func TestFamiliaritySnapshotErrors(t *testing.T) {
	t.Parallel()
	r := newSnapshotRig(t, t.TempDir())
	defer r.a.Close()
	file := filepath.Join(r.dir, FamiliaritySnapshotFile)
	r.signIns(t, 2, 1)
	require.NoError(t, os.Mkdir(file, 0o700)) // a directory where the file goes: rename fails
	require.Error(t, r.period())
	assert.Equal(t, 1.0, testutil.ToFloat64(r.a.famSnap.m.errors))
	require.NoError(t, os.Remove(file))
	require.NoError(t, r.period())
	assert.Equal(t, uint64(2), loadSnapshot(t, r.dir).Total(), "the next period retries")
}

// TestFamiliaritySnapshotSurvivesKill: a server killed with SIGKILL after
// a snapshot period keeps what it learnt up to that period. The test runs
// itself as the server in a child process, which reports when its period
// is done and learns more afterwards; the parent kills it and starts on
// its data dir as riskauthd would after a crash.
func TestFamiliaritySnapshotSurvivesKill(t *testing.T) {
	if dir := os.Getenv("RISKAUTH_TEST_FAMSNAP_CHILD"); dir != "" {
		r := newSnapshotRig(t, dir)
		r.signIns(t, 9, 4)
		require.NoError(t, r.period())
		r.signIns(t, 5, 5) // after the last period: lost in the crash
		fmt.Println("snapshotted")
		select {} // until killed
	}
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFamiliaritySnapshotSurvivesKill$", "-test.count=1")
	cmd.Env = append(os.Environ(), "RISKAUTH_TEST_FAMSNAP_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "snapshotted" {
				ready <- true
				return
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		require.True(t, ok, "the child exited before its snapshot period")
	case <-time.After(2 * time.Minute): // a hang, not a verdict on speed
		t.Fatal("the child did not report its snapshot period")
	}
	require.NoError(t, cmd.Process.Kill()) // SIGKILL: no Close, no shutdown snapshot
	_ = cmd.Wait()

	g := loadSnapshot(t, dir)
	assert.Equal(t, uint64(9), g.Total(), "the sign-ins before the last period survive")
	assert.Equal(t, uint64(4), g.Users())
}

// TestFamiliaritySnapshotSize: the counts are kept at the configured
// size; a snapshot of another size is not loaded (the counts start anew).
func TestFamiliaritySnapshotSize(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	g, err := familiarity.NewGlobal(familiarity.GlobalConfig{})
	require.NoError(t, err)
	g.Add(familiarity.Features{IP: "192.0.2.1"})
	b, err := g.MarshalBinary()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, FamiliaritySnapshotFile), b, 0o600))
	small := familiarity.GlobalConfig{Width: 256, Depth: 2}
	s, err := openFamSnapshots(dir, small, discard, time.Now, nil)
	require.NoError(t, err)
	assert.Equal(t, familiarity.NumFeatures*256*2*4, s.g.MemoryBytes())
	assert.Zero(t, s.g.Total(), "a snapshot of the default size is not loaded into a 2x256 sketch")
}
