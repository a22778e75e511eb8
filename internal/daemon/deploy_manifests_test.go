package daemon

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riskauth/riskauth/internal/config"
	"github.com/riskauth/riskauth/signals/standard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// The compose file and the Kubernetes manifests cannot be run on the build
// machine; these tests keep them honest about riskauthd: every RISKAUTH_*
// variable they set is one riskauthd reads, the probes ask the paths and
// the port the image serves them on, and the pods run as the image's
// non-root user with resources at least the memory budget they configure.

// knownEnv returns every environment variable config.Load consults: the
// variables riskauthd reads, whatever later issues add.
func knownEnv(t *testing.T) map[string]bool {
	t.Helper()
	seen := map[string]bool{"RISKAUTH_CONFIG": true} // read by main, before Load
	_, err := config.Load("", func(k string) string { seen[k] = true; return "" })
	require.NoError(t, err)
	// Some are read only when another is set (the SASL credentials only
	// with a mechanism); whether these values validate does not matter.
	gates := map[string]string{"RISKAUTH_KAFKA_BROKERS": "kafka:9092", "RISKAUTH_KAFKA_SASL_MECHANISM": "scram-sha-512"}
	_, _ = config.Load("", func(k string) string { seen[k] = true; return gates[k] })
	require.True(t, seen["RISKAUTH_DATABASE_URL"] && seen["RISKAUTH_ADDR"], "lookups recorded")
	return seen
}

// containerfile reads the image's ENV and USER lines.
func containerfile(t *testing.T) (env map[string]string, user string) {
	t.Helper()
	f, err := os.Open(filepath.Join(deployDir, "container", "Containerfile"))
	require.NoError(t, err)
	defer f.Close()
	env = map[string]string{}
	var lines []string
	sc := bufio.NewScanner(f)
	for cont := ""; sc.Scan(); {
		l := strings.TrimSpace(sc.Text())
		if strings.HasSuffix(l, `\`) {
			cont += strings.TrimSuffix(l, `\`) + " "
			continue
		}
		lines, cont = append(lines, cont+l), ""
	}
	for _, l := range lines {
		switch f := strings.Fields(l); {
		case len(f) > 1 && f[0] == "USER":
			user = f[1]
		case len(f) > 1 && f[0] == "ENV":
			for _, kv := range f[1:] {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
		}
	}
	require.NotEmpty(t, user)
	return env, user
}

func readYAMLDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var docs []map[string]any
	dec := yaml.NewDecoder(f)
	for {
		var d map[string]any
		if err := dec.Decode(&d); err != nil {
			require.ErrorContains(t, err, "EOF", path)
			return docs
		}
		docs = append(docs, d)
	}
}

// dig follows keys through nested maps.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func TestDeployManifests(t *testing.T) {
	known := knownEnv(t)
	imageEnv, imageUser := containerfile(t)
	for k := range imageEnv {
		assert.True(t, known[k], "Containerfile sets %s, which riskauthd does not read", k)
	}
	_, opsPort, _ := strings.Cut(imageEnv["RISKAUTH_METRICS_ADDR"], ":")
	require.NotEmpty(t, opsPort, "the image serves the probes on RISKAUTH_METRICS_ADDR")
	probePaths := map[string]bool{"/healthz": true, "/readyz": true}

	t.Run("compose", func(t *testing.T) {
		docs := readYAMLDocs(t, filepath.Join(deployDir, "compose", "compose.yaml"))
		require.Len(t, docs, 1)
		services, _ := docs[0]["services"].(map[string]any)
		instances := 0
		for name, svc := range services {
			if !strings.HasPrefix(name, "riskauth-") {
				continue
			}
			instances++
			env, _ := dig(svc, "environment").(map[string]any)
			for k := range env {
				if strings.HasPrefix(k, "RISKAUTH_") {
					assert.True(t, known[k], "%s sets %s, which riskauthd does not read", name, k)
				}
			}
			test, _ := dig(svc, "healthcheck", "test").([]any)
			require.Len(t, test, 4, "%s health check", name)
			assert.Equal(t, "-probe", test[2])
			assert.Equal(t, "http://127.0.0.1:"+opsPort+"/readyz", test[3], "%s probes the image's ops port", name)
		}
		assert.GreaterOrEqual(t, instances, 2, "two riskauthd instances")
		for _, dep := range []string{"postgres", "redis", "kafka"} {
			assert.Contains(t, services, dep)
		}
	})

	t.Run("kubernetes", func(t *testing.T) {
		dir := filepath.Join(deployDir, "kubernetes")
		kust := readYAMLDocs(t, filepath.Join(dir, "kustomization.yaml"))
		require.Len(t, kust, 1)
		kinds := map[string]map[string]any{}
		for _, r := range append(dig(kust[0], "resources").([]any), "secret.example.yaml") {
			for _, d := range readYAMLDocs(t, filepath.Join(dir, r.(string))) {
				kinds[d["kind"].(string)] = d
			}
		}
		for _, k := range []string{"StatefulSet", "Service", "ConfigMap", "Secret", "PodDisruptionBudget", "NetworkPolicy"} {
			require.Contains(t, kinds, k)
		}
		for k := range dig(kinds["ConfigMap"], "data").(map[string]any) {
			assert.True(t, known[k], "the ConfigMap sets %s, which riskauthd does not read", k)
		}
		for k := range dig(kinds["Secret"], "stringData").(map[string]any) {
			assert.True(t, known[k], "the Secret sets %s, which riskauthd does not read", k)
		}
		pod := dig(kinds["StatefulSet"], "spec", "template", "spec")
		assert.Equal(t, true, dig(pod, "securityContext", "runAsNonRoot"))
		uid, _, _ := strings.Cut(imageUser, ":")
		assert.Equal(t, uid, strings.TrimSpace(yamlString(dig(pod, "securityContext", "runAsUser"))), "the image's user")
		containers := dig(pod, "containers").([]any)
		require.Len(t, containers, 1)
		c := containers[0]
		ports := map[string]string{}
		for _, p := range dig(c, "ports").([]any) {
			ports[yamlString(dig(p, "name"))] = yamlString(dig(p, "containerPort"))
		}
		for _, e := range dig(c, "env").([]any) {
			name := yamlString(dig(e, "name"))
			assert.True(t, known[name], "the StatefulSet sets %s, which riskauthd does not read", name)
			if name == "RISKAUTH_METRICS_ADDR" {
				_, p, _ := strings.Cut(yamlString(dig(e, "value")), ":")
				assert.Equal(t, ports["ops"], p, "the ops port is where metrics_addr listens")
			}
		}
		for _, probe := range []string{"startupProbe", "livenessProbe", "readinessProbe"} {
			path := yamlString(dig(c, probe, "httpGet", "path"))
			assert.True(t, probePaths[path], "%s asks %q", probe, path)
			assert.Equal(t, "ops", yamlString(dig(c, probe, "httpGet", "port")), "%s on the ops port", probe)
		}
		assert.Equal(t, "/readyz", yamlString(dig(c, "readinessProbe", "httpGet", "path")))
		for _, r := range []string{"cpu", "memory"} {
			assert.NotEmpty(t, yamlString(dig(c, "resources", "requests", r)), "requests.%s", r)
		}
		budget, err := standard.ParseBytes(yamlString(dig(kinds["ConfigMap"], "data", "RISKAUTH_MEMORY_LIMIT")))
		require.NoError(t, err)
		limit, err := standard.ParseBytes(strings.TrimSuffix(yamlString(dig(c, "resources", "limits", "memory")), "i") + "iB")
		require.NoError(t, err)
		assert.Greater(t, limit, budget, "the container's memory limit leaves room above memory_limit")
		assert.Equal(t, true, dig(c, "securityContext", "readOnlyRootFilesystem"))
	})
}

func yamlString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		b, _ := yaml.Marshal(v)
		return strings.TrimSpace(string(b))
	}
}
