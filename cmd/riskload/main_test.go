package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/engine"
)

func TestBodiesAreDeterministicAndVaried(t *testing.T) {
	t.Parallel()
	cfg := bodyConfig{Seed: 7, Users: 1000, Bodies: 2000, Attackers: 5}
	a, b := genBodies(cfg), genBodies(cfg)
	require.Equal(t, a, b)
	kinds, users, ips := map[string]int{}, map[string]bool{}, map[string]bool{}
	for _, body := range a {
		var m map[string]any
		require.NoError(t, json.Unmarshal(body, &m))
		kinds[m["event"].(string)]++
		if u, ok := m["user_id"].(string); ok {
			users[u] = true
		}
		ips[m["ip"].(string)] = true
		_, err := netip.ParseAddr(m["ip"].(string))
		require.NoError(t, err)
	}
	assert.Len(t, kinds, 4)
	assert.Greater(t, kinds["login"], len(a)/2)
	assert.Greater(t, len(users), 100)
	assert.Greater(t, len(ips), 200)
}

func TestParseFlags(t *testing.T) {
	t.Setenv("RISKLOAD_API_KEY", "k")
	for _, bad := range [][]string{
		{"-duration", "0s"}, {"-duration", "11m"}, {"-concurrency", "0"}, {"-concurrency", "5000"},
		{"-target", "http://10.0.0.1:8080"}, {"-target", "http://example.com"}, {"-target", "ftp://127.0.0.1"},
		{"-server-procs", "1"}, {"extra"}, {"-rounds", "0"}, {"-rounds", "21"},
	} {
		_, err := parseFlags(bad)
		assert.Error(t, err, "%v", bad)
	}
	cfg, err := parseFlags([]string{"-target", "http://127.0.0.1:8080", "-duration", "1s"})
	require.NoError(t, err)
	assert.Equal(t, "k", cfg.apiKey)
}

// A short run against both in-process servers answers every request with
// a 2xx and prints the table row. Each measurement ends after 200 answers
// (-requests): bounded by -duration alone (it was 300ms), a loaded machine
// got no answer within the window ("no successful answer"); -duration is
// now only the upper bound, never reached.
func TestRunInProcess(t *testing.T) {
	cfg, err := parseFlags([]string{"-duration", "1m", "-requests", "200", "-warmup", "100ms", "-concurrency", "8", "-users", "500", "-bodies", "500", "-rounds", "2"})
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), cfg, &out))
	s := out.String()
	assert.Contains(t, s, "risk/echo throughput ratio, median of 2 rounds")
	assert.Contains(t, s, "round 1: echo ")
	assert.Contains(t, s, "round 2: echo ")
	assert.Contains(t, s, "| date | machine |")
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "echo ") || strings.HasPrefix(line, "risk ") {
			f := strings.Fields(line)
			assert.Equal(t, "0", f[2], "non-2xx: %s", line)
			assert.Equal(t, "0", f[3], "errors: %s", line)
		}
	}
}

// BenchmarkEngineOnly runs the riskload traffic through the engine alone,
// without HTTP, to split the risk API's cost into engine and HTTP layer.
func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{{[]float64{3}, 3}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}} {
		assert.Equal(t, tc.want, median(tc.xs), "%v", tc.xs)
	}
}

func BenchmarkEngineOnly(b *testing.B) {
	rd, err := newDaemon()
	require.NoError(b, err)
	defer rd.close()
	eng := rd.Engine
	bodies := genBodies(bodyConfig{Seed: 1, Users: 50_000, Bodies: 32768, Attackers: 20})
	events := make([]engine.Event, len(bodies))
	for i, body := range bodies {
		var r evaluateJSON
		require.NoError(b, json.Unmarshal(body, &r))
		ev := engine.Event{Kind: r.Event, UserID: r.UserID, Identifier: r.Identifier, IP: netip.MustParseAddr(r.IP),
			UserAgent: r.UserAgent, Attributes: r.Attributes, Password: r.Password}
		if d := r.Device; d != nil {
			ev.Device = &engine.DeviceDescriptor{CookieID: d.CookieID, Platform: d.Platform, Languages: d.Languages,
				Timezone: d.Timezone, ScreenWidth: d.ScreenWidth, ScreenHeight: d.ScreenHeight, ColorDepth: d.ColorDepth,
				PixelRatio: d.PixelRatio, HardwareConcurrency: d.HardwareConcurrency, DeviceMemory: d.DeviceMemory,
				CanvasHash: d.CanvasHash, WebGLRenderer: d.WebGLRenderer, TouchPoints: d.TouchPoints}
		}
		events[i] = ev
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := eng.Evaluate(context.Background(), events[n.Add(1)%int64(len(events))]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestIsBlock(t *testing.T) {
	pad := strings.Repeat(`"x":1,`, 100)
	for _, tc := range []struct {
		name, body string
		want       bool
	}{
		{"block first", `{"evaluation_id":"a","decision":"block","score":9}`, true},
		{"step_up", `{"evaluation_id":"a","decision":"step_up","shadow_decision":"block"}`, false},
		{"decision late", `{` + pad + `"decision":"block"}`, true},
		{"no decision", `{"a":1}`, false},
		{"empty", ``, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, isBlock([]byte(tc.body)))
		})
	}
}
