package daemon

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/internal/config"
)

// TestWebhooksWired: an endpoint in the configuration (its secret from
// the environment) receives the user_created event of a registration,
// signed, from the whole daemon.
func TestWebhooksWired(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		if r.Header.Get("Riskauth-Signature") == "" {
			http.Error(w, "unsigned", http.StatusUnauthorized)
			return
		}
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
	}))
	t.Cleanup(recv.Close)
	dir := t.TempDir()
	path := filepath.Join(dir, "riskauth.yaml")
	require.NoError(t, os.WriteFile(path, []byte("webhooks:\n  endpoints:\n    - { name: crm, url: "+recv.URL+", events: [user_created] }\n"), 0o600))
	cfg, err := config.Load(path, func(k string) string {
		return map[string]string{"RISKAUTH_DATA_DIR": filepath.Join(dir, "data"), "RISKAUTH_API_KEYS": "test-key-0123456789",
			"RISKAUTH_WEBHOOK_SECRETS": "crm=webhook-secret-0123456789abcdef-0123456789"}[k]
	})
	require.NoError(t, err)
	srv, err := Build(context.Background(), cfg, WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	defer srv.Close()
	_, err = srv.Authn.Registration.Register(context.Background(), authn.RegisterRequest{Email: "hook@example.com", Password: "correct horse battery staple"})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 1
	}, 30*time.Second, 10*time.Millisecond)
	assert.Equal(t, "user_created", got[0]["type"])
	assert.Equal(t, "hook@example.com", got[0]["email"])

	_, err = config.Load(path, func(k string) string {
		return map[string]string{"RISKAUTH_WEBHOOK_SECRETS": "crm=short"}[k]
	})
	assert.ErrorContains(t, err, "secret shorter")
}
