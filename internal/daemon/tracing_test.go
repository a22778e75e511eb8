package daemon

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/internal/config"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"github.com/riskauth/riskauth/internal/tracing"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP trace endpoint on loopback: it decodes what
// the real exporter sends (protobuf ExportTraceServiceRequest) and keeps
// the spans.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want protobuf on /v1/traces", http.StatusBadRequest)
		return
	}
	b, err := io.ReadAll(r.Body)
	var req coltracepb.ExportTraceServiceRequest
	if err != nil || proto.Unmarshal(b, &req) != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			o.spans = append(o.spans, ss.Spans...)
		}
	}
	o.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// TestTracing runs riskauthd with an OTLP endpoint configured, on
// PostgreSQL and Redis, and checks the spans the real exporter sends:
//
//   - a risk evaluation: the request's server span continues the caller's
//     trace, the evaluation nests in it, each signal in the evaluation;
//   - a password sign-in: the request span holds the sign-in steps
//     (identify, evaluate, password, session), the account store's calls
//     nest in the step that made them, the engine's evaluation in the
//     sign-in's evaluate step and the Redis round trip in the evaluation;
//   - a sign-in while PostgreSQL is frozen: the store call is an error
//     span of kind timeout, and so is the request (503);
//
// and no span carries the user, the address, the password or the user
// agent.
func TestTracing(t *testing.T) {
	pg, pgURL := testenv.StartPostgres(t)
	rd := testenv.StartRedis(t)
	recv := &otlpReceiver{}
	collector := httptest.NewServer(recv)
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL) // the exporter reads it itself
	trc, err := tracing.Setup(t.Context(), func(k string) string { return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL}[k] }, "test")
	require.NoError(t, err)
	require.NotNil(t, trc)

	dir := t.TempDir()
	env := map[string]string{"RISKAUTH_DATA_DIR": dir, "RISKAUTH_API_KEYS": "test-key-0123456789",
		"RISKAUTH_DATABASE_URL": pgURL, "RISKAUTH_REDIS_URL": "redis://" + rd.Addr + "/0",
		// Generous, so a loaded machine's reads are not taken for a
		// fault; the frozen database's exceed it all the same.
		"RISKAUTH_DATABASE_READ_TIMEOUT": "3s", "RISKAUTH_DATABASE_WRITE_TIMEOUT": "5s"}
	cfg, err := config.Load("", func(k string) string { return env[k] })
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := Build(ctx, cfg, WithLogger(slog.New(slog.DiscardHandler)), WithTracing(trc))
	require.NoError(t, err)
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.API.Serve(ln) }()
	defer func() { _ = srv.API.App().ShutdownWithTimeout(2 * time.Second) }()
	base := "http://" + ln.Addr().String()

	const email, parentID = "secret-tracy@example.com", "00f067aa0ba902b7"
	const evalTrace, loginTrace, faultTrace = "4bf92f3577b34da6a3ce929d0e0e4736", "5cf92f3577b34da6a3ce929d0e0e4737", "6df92f3577b34da6a3ce929d0e0e4738"
	secrets := []string{"alice-secret-id", "198.51.100.7", "UniqueAgent", "secret-tracy", userPassword}
	call := func(path, traceID, body string, auth bool) (int, string) {
		req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
		require.NoError(t, err)
		if auth {
			req.Header.Set("Authorization", "Bearer test-key-0123456789")
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Riskauth-Session", "bearer")
		req.Header.Set("User-Agent", "Mozilla/5.0 UniqueAgent")
		if traceID != "" {
			req.Header.Set("traceparent", "00-"+traceID+"-"+parentID+"-01")
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	code, body := call("/v1/risk/evaluate", evalTrace, `{"event":"login","user_id":"alice-secret-id","ip":"198.51.100.7","user_agent":"Mozilla/5.0 UniqueAgent"}`, true)
	require.Equal(t, http.StatusOK, code, body)
	code, body = call("/v1/register", "", `{"email":"`+email+`","password":"`+userPassword+`"}`, false)
	require.Equal(t, http.StatusAccepted, code, body)
	var reg struct {
		Secret string `json:"registration_secret"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &reg))
	code, body = call("/v1/verify-email", "", `{"token":"`+verifyToken(t, srv, filepath.Join(dir, mail.OutboxFile), email)+`","registration_secret":"`+reg.Secret+`"}`, false)
	require.Equal(t, http.StatusOK, code, body)
	login := `{"identifier":"` + email + `","password":"` + userPassword + `"}`
	code, body = call("/v1/login", loginTrace, login, false)
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"authenticated"`)

	pg.Freeze(t)
	code, body = call("/v1/login", faultTrace, login, false)
	pg.Thaw(t)
	require.Equal(t, http.StatusServiceUnavailable, code, body)

	sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer scancel()
	require.NoError(t, trc.Shutdown(sctx), "flushes the batch to the receiver")

	recv.mu.Lock()
	defer recv.mu.Unlock()
	traces := map[string][]*tracepb.Span{}
	for _, s := range recv.spans {
		traces[hex.EncodeToString(s.TraceId)] = append(traces[hex.EncodeToString(s.TraceId)], s)
		for _, a := range s.Attributes {
			v := a.Value.String()
			for _, secret := range secrets {
				assert.NotContains(t, v, secret, "%s attribute %s", s.Name, a.Key)
			}
		}
	}

	t.Run("evaluation", func(t *testing.T) {
		tr := newTraceView(t, traces[evalTrace])
		server := tr.one("POST /v1/risk/evaluate")
		assert.Equal(t, parentID, hex.EncodeToString(server.ParentSpanId))
		assert.Equal(t, tracepb.Span_SPAN_KIND_SERVER, server.Kind)
		eval := tr.child(server, "riskauth.evaluate")
		attrs := spanAttrs(eval)
		assert.NotEmpty(t, attrs["riskauth.evaluation_id"].GetStringValue())
		assert.Contains(t, []string{"passwordless", "step_up", "block"}, attrs["riskauth.decision"].GetStringValue())
		signals := tr.prefixed("riskauth.signal ")
		require.NotEmpty(t, signals, "a span per signal")
		for _, s := range signals {
			assert.Equal(t, eval.SpanId, s.ParentSpanId, "%s nests in the evaluation", s.Name)
			assert.GreaterOrEqual(t, s.EndTimeUnixNano, s.StartTimeUnixNano)
		}
	})

	t.Run("sign-in", func(t *testing.T) {
		tr := newTraceView(t, traces[loginTrace])
		server := tr.one("POST /v1/login")
		assert.Equal(t, parentID, hex.EncodeToString(server.ParentSpanId))
		identify := tr.child(server, "riskauth.signin.identify")
		tr.store(identify, "UserByEmail", "postgresql")
		step := tr.child(server, "riskauth.signin.evaluate")
		assert.Equal(t, "login", spanAttrs(step)["riskauth.event"].GetStringValue())
		assert.Equal(t, "passwordless", spanAttrs(step)["riskauth.decision"].GetStringValue())
		eval := tr.child(step, "riskauth.evaluate")
		load := tr.child(eval, "Load")
		assert.Equal(t, tracepb.Span_SPAN_KIND_CLIENT, load.Kind)
		assert.Equal(t, "redis", spanAttrs(load)["db.system.name"].GetStringValue())
		assert.Positive(t, spanAttrs(load)["db.operation.batch.size"].GetIntValue(), "the pipeline's command count")
		pw := tr.child(server, "riskauth.signin.password")
		assert.True(t, spanAttrs(pw)["riskauth.verified"].GetBoolValue())
		sess := tr.child(server, "riskauth.signin.session")
		assert.EqualValues(t, 1, spanAttrs(sess)["riskauth.aal"].GetIntValue())
		tr.store(sess, "CreateSession", "postgresql")
		// Every span of the trace hangs off the request, through its
		// parents: no orphan, no second root.
		for _, s := range tr.spans {
			if s != server {
				tr.ancestor(s, server)
			}
			assert.NotEqual(t, tracepb.Status_STATUS_CODE_ERROR, s.Status.GetCode(), "%s", s.Name)
		}
	})

	t.Run("store failure", func(t *testing.T) {
		tr := newTraceView(t, traces[faultTrace])
		server := tr.one("POST /v1/login")
		assert.Equal(t, tracepb.Status_STATUS_CODE_ERROR, server.Status.GetCode(), "503")
		identify := tr.child(server, "riskauth.signin.identify")
		lookup := tr.store(identify, "UserByEmail", "postgresql")
		assert.Equal(t, tracepb.Status_STATUS_CODE_ERROR, lookup.Status.GetCode())
		assert.Equal(t, "timeout", spanAttrs(lookup)["error.type"].GetStringValue())
		assert.Equal(t, tracepb.Status_STATUS_CODE_ERROR, identify.Status.GetCode(), "the step failed with it")
		assert.Empty(t, lookup.Events, "no error text is recorded")
	})
}

// traceView finds the spans of one exported trace by name and parent.
type traceView struct {
	t     *testing.T
	spans []*tracepb.Span
}

func newTraceView(t *testing.T, spans []*tracepb.Span) *traceView {
	require.NotEmpty(t, spans, "the trace was exported")
	return &traceView{t: t, spans: spans}
}

// one is the trace's only span named name.
func (v *traceView) one(name string) *tracepb.Span {
	v.t.Helper()
	var found []*tracepb.Span
	for _, s := range v.spans {
		if s.Name == name {
			found = append(found, s)
		}
	}
	require.Len(v.t, found, 1, "spans named %q", name)
	return found[0]
}

// child is the only span named name, checked to be parent's child.
func (v *traceView) child(parent *tracepb.Span, name string) *tracepb.Span {
	v.t.Helper()
	s := v.one(name)
	require.Equal(v.t, hex.EncodeToString(parent.SpanId), hex.EncodeToString(s.ParentSpanId), "%s nests in %s", name, parent.Name)
	return s
}

// store is the store call op made under parent: a client span naming the
// database system and the operation.
func (v *traceView) store(parent *tracepb.Span, op, system string) *tracepb.Span {
	v.t.Helper()
	for _, s := range v.spans {
		if s.Name == op && string(s.ParentSpanId) == string(parent.SpanId) {
			assert.Equal(v.t, tracepb.Span_SPAN_KIND_CLIENT, s.Kind)
			a := spanAttrs(s)
			assert.Equal(v.t, system, a["db.system.name"].GetStringValue())
			assert.Equal(v.t, op, a["db.operation.name"].GetStringValue())
			return s
		}
	}
	v.t.Fatalf("no store call %s under %s", op, parent.Name)
	return nil
}

// prefixed are the spans whose name starts with prefix.
func (v *traceView) prefixed(prefix string) []*tracepb.Span {
	var out []*tracepb.Span
	for _, s := range v.spans {
		if strings.HasPrefix(s.Name, prefix) {
			out = append(out, s)
		}
	}
	return out
}

// ancestor checks that root is among s's ancestors in the trace.
func (v *traceView) ancestor(s, root *tracepb.Span) {
	v.t.Helper()
	byID := map[string]*tracepb.Span{}
	for _, x := range v.spans {
		byID[string(x.SpanId)] = x
	}
	for cur := s; cur != nil; cur = byID[string(cur.ParentSpanId)] {
		if cur == root {
			return
		}
	}
	v.t.Errorf("%s does not descend from %s", s.Name, root.Name)
}

// spanAttrs are a span's attributes by key.
func spanAttrs(s *tracepb.Span) map[string]*commonpb.AnyValue {
	m := map[string]*commonpb.AnyValue{}
	for _, a := range s.Attributes {
		m[a.Key] = a.Value
	}
	return m
}
