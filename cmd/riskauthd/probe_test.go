package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestProbe(t *testing.T) {
	ready := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"status":"ready"}`))
	}))
	defer ready.Close()
	notReady := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"status":"unavailable"}`, http.StatusServiceUnavailable)
	}))
	defer notReady.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	for _, tc := range []struct {
		name, url, wantErr string
	}{
		{"ready", ready.URL + "/readyz", ""},
		{"not ready", notReady.URL + "/readyz", "answered 503"},
		{"nothing listening", closedURL + "/readyz", "probe:"},
		{"another host", "http://example.com/readyz", "want an http URL on 127.0.0.1"},
		{"https", "https://127.0.0.1:9090/readyz", "want an http URL"},
		{"not a URL", "::", "want an http URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := probe(t.Context(), tc.url)
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.wantErr)
		})
	}
}
