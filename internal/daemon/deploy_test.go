package daemon

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riskauth/riskauth/internal/config"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// The operations kit in deploy/ must speak about metrics riskauthd has:
// every PromQL expression of the Prometheus rules and of the Grafana
// dashboard is valid (promtool), the rules' own unit tests pass, and every
// riskauth metric they name is registered by the daemon.

const deployDir = "../../deploy"

// registeredMetrics builds the whole daemon on embedded defaults, and
// again with Redis (at an address nothing answers: the series that only
// Redis brings are registered all the same), and returns the names of
// every metric they register (from the registries' descriptors, so series
// that have not been observed yet count too).
func registeredMetrics(t *testing.T) map[string]bool {
	t.Helper()
	names := registered(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := ln.Addr().String()
	ln.Close()
	for n := range registered(t, map[string]string{"RISKAUTH_REDIS_URL": "redis://" + dead + "/0"}) {
		names[n] = true
	}
	return names
}

// registered is the metric names of the daemon built with env (on top of
// a data dir and an API key).
func registered(t *testing.T, env map[string]string) map[string]bool {
	t.Helper()
	cfg, err := config.Load("", func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return map[string]string{"RISKAUTH_DATA_DIR": t.TempDir(), "RISKAUTH_API_KEYS": "test-key-0123456789"}[k]
	})
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	srv, err := Build(context.Background(), cfg, WithLogger(slog.New(slog.DiscardHandler)), WithRegistry(reg))
	require.NoError(t, err)
	defer srv.Close()
	ch := make(chan *prometheus.Desc)
	go func() { reg.Describe(ch); close(ch) }()
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	names := map[string]bool{}
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			names[m[1]] = true
		}
	}
	require.True(t, names["riskauth_decisions_total"], "descriptors read")
	return names
}

// ruleExprs reads the expressions of a Prometheus rules file.
func ruleExprs(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var f struct {
		Groups []struct {
			Rules []struct {
				Expr string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	require.NoError(t, yaml.Unmarshal(b, &f))
	var out []string
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			out = append(out, r.Expr)
		}
	}
	require.NotEmpty(t, out)
	return out
}

// dashboardExprs reads the query expressions of a Grafana dashboard.
func dashboardExprs(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(b, &d))
	var out []string
	for _, p := range d.Panels {
		require.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
		for _, tg := range p.Targets {
			out = append(out, tg.Expr)
		}
	}
	return out
}

var metricName = regexp.MustCompile(`\briskauth_[a-z0-9_]+`)

// TestDeployMetricsExist: every riskauth metric named in the rules and the
// dashboard is one riskauthd registers (histograms by their base name).
func TestDeployMetricsExist(t *testing.T) {
	t.Parallel()
	have := registeredMetrics(t)
	for name, exprs := range map[string][]string{
		"deploy/prometheus/riskauth.rules.yml":   ruleExprs(t, filepath.Join(deployDir, "prometheus", "riskauth.rules.yml")),
		"deploy/grafana/riskauth-dashboard.json": dashboardExprs(t, filepath.Join(deployDir, "grafana", "riskauth-dashboard.json")),
	} {
		t.Run(name, func(t *testing.T) {
			for _, e := range exprs {
				for _, m := range metricName.FindAllString(e, -1) {
					base := m
					for _, suffix := range []string{"_bucket", "_sum", "_count"} {
						if b, ok := strings.CutSuffix(m, suffix); ok && have[b] {
							base = b
						}
					}
					assert.True(t, have[base], "%s names %s, which riskauthd does not register", name, m)
				}
			}
		})
	}
}

// TestPrometheusRules runs promtool over the rules (syntax and their unit
// tests) and over the dashboard's expressions, each wrapped as a
// recording rule so that promtool parses it.
func TestPrometheusRules(t *testing.T) {
	t.Parallel()
	promtool := testenv.Promtool(t)
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(promtool, args...)
		cmd.Dir = filepath.Join(deployDir, "prometheus")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "promtool %s:\n%s", strings.Join(args, " "), out)
	}
	run("check", "rules", "riskauth.rules.yml")
	run("test", "rules", "riskauth.rules.test.yml")

	exprs := dashboardExprs(t, filepath.Join(deployDir, "grafana", "riskauth-dashboard.json"))
	type rule struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var rules []rule
	for i, e := range slices.Compact(exprs) {
		rules = append(rules, rule{Record: "dashboard:expr_" + string(rune('a'+i%26)) + strings.Repeat("x", i/26), Expr: e})
	}
	b, err := yaml.Marshal(map[string]any{"groups": []map[string]any{{"name": "dashboard", "rules": rules}}})
	require.NoError(t, err)
	tmp := filepath.Join(t.TempDir(), "dashboard.rules.yml")
	require.NoError(t, os.WriteFile(tmp, b, 0o600))
	run("check", "rules", tmp)
}
