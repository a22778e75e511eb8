package daemon

import (
	"context"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/internal/config"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"github.com/riskauth/riskauth/signals/standard"
)

// looseModes walks dir and lists every directory that is not 0700 and
// every file that is not 0600.
func looseModes(t *testing.T, dir string) []string {
	t.Helper()
	var bad []string
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			rel, _ := filepath.Rel(dir, path)
			bad = append(bad, rel+" "+fi.Mode().Perm().String())
		}
		return nil
	}))
	return bad
}

// run builds the daemon on cfg, serves it, drives a whole sign-in and a
// stuffing wave (evaluations and alerts) through it, and closes it.
func run(t *testing.T, cfg *config.Config, log *slog.Logger) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := Build(ctx, cfg, WithLogger(log))
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.API.Serve(ln) }()
	base := "http://" + ln.Addr().String()
	signInJourney(t, base, srv, filepath.Join(cfg.DataDir, mail.OutboxFile), "mode@example.com")
	key, err := os.ReadFile(filepath.Join(cfg.DataDir, "api-key"))
	require.NoError(t, err)
	stuff(t, base, strings.TrimSpace(string(key)))
	require.NoError(t, srv.Authn.Flush(context.Background()))
	// While serving, SQLite's -wal and -shm files exist too.
	require.FileExists(t, filepath.Join(cfg.DataDir, authnDBFile+"-wal"))
	require.Empty(t, looseModes(t, cfg.DataDir), "while serving")
	require.NoError(t, srv.API.App().ShutdownWithTimeout(2*time.Second))
	srv.Close()
}

// TestDataDirModes: everything the daemon creates in its data dir is
// private to the service user, whatever the umask: the dir 0700, every
// file 0600 (the SQLite databases and their -wal/-shm files, generated
// keys, the outbox, alerts, audit and decision files, spool segments, the
// familiarity snapshot). The umask is set to 0 for the test, so only the
// modes the code asks for count. A data dir left loose by an older
// version is tightened at start, with a log line.
func TestDataDirModes(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })

	// A Kafka address nothing listens on: the sink spools what it cannot
	// deliver, so the spool's files are created too.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadKafka := ln.Addr().String()
	ln.Close()
	kafkaCfg := filepath.Join(t.TempDir(), "riskauth.yaml")
	require.NoError(t, os.WriteFile(kafkaCfg, []byte("shutdown_grace: 1s\nalerts:\n  write_timeout: 200ms\n  max_attempts: 1\n"), 0o600))

	cases := []struct {
		name    string
		cfgFile string
		env     map[string]string
		// files are what this mode writes besides the common ones
		// (globs relative to the data dir).
		files []string
	}{
		{"embedded", "", map[string]string{"RISKAUTH_KAFKA_DECISIONS_TOPIC": "riskauth.decisions"},
			[]string{"alerts.jsonl", "decisions.jsonl"}},
		{"kafka unreachable, spooling", kafkaCfg, map[string]string{"RISKAUTH_KAFKA_BROKERS": deadKafka,
			"RISKAUTH_KAFKA_DECISIONS_TOPIC": "riskauth.decisions"}, []string{"spool/alerts/*", "spool/decisions/*"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data") // does not exist yet
			env := map[string]string{"RISKAUTH_DATA_DIR": dir}
			for k, v := range c.env {
				env[k] = v
			}
			cfg, err := config.Load(c.cfgFile, func(k string) string { return env[k] })
			require.NoError(t, err)
			run(t, cfg, slog.New(slog.DiscardHandler))
			for _, f := range append([]string{authnDBFile, "profiles.db", sealKeysFile, authnSecretFile, accessKeysFile,
				mail.OutboxFile, "api-key", "device.key", standard.FamiliaritySnapshotFile}, c.files...) {
				m, err := filepath.Glob(filepath.Join(dir, f))
				require.NoError(t, err)
				require.NotEmpty(t, m, "%s was written", f)
			}
			require.Empty(t, looseModes(t, dir))

			// An older version left the same dir readable by everyone.
			var loosened int
			require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				mode := fs.FileMode(0o644)
				if d.IsDir() {
					mode = 0o755
				}
				loosened++
				return os.Chmod(path, mode)
			}))
			logs := &testenv.LogBuffer{}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			srv, err := Build(ctx, cfg, WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
			require.NoError(t, err)
			require.Empty(t, looseModes(t, dir), "tightened at start")
			srv.Close()
			require.Empty(t, looseModes(t, dir))
			require.Equal(t, loosened, strings.Count(logs.String(), "data dir: permissions tightened"), logs.String())
		})
	}
}
