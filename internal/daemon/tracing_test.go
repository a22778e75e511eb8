package daemon

import (
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riskauth/riskauth/internal/config"
	"github.com/riskauth/riskauth/internal/tracing"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
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

// TestTracing runs riskauthd with an OTLP endpoint configured and checks
// the spans a traced evaluation exports: the request's server span
// continues the caller's trace, the evaluation nests in it, each signal in
// the evaluation, and no span carries the user, the address or the user
// agent.
func TestTracing(t *testing.T) {
	recv := &otlpReceiver{}
	collector := httptest.NewServer(recv)
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	trc, err := tracing.Setup(t.Context(), func(k string) string { return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL}[k] }, "test")
	require.NoError(t, err)
	require.NotNil(t, trc)

	cfg, err := config.Load("", func(k string) string {
		return map[string]string{"RISKAUTH_DATA_DIR": t.TempDir(), "RISKAUTH_API_KEYS": "test-key-0123456789"}[k]
	})
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

	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req, err := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/v1/risk/evaluate",
		strings.NewReader(`{"event":"login","user_id":"alice-secret-id","ip":"198.51.100.7","user_agent":"Mozilla/5.0 UniqueAgent"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer test-key-0123456789")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+traceID+"-"+parentID+"-01")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer scancel()
	require.NoError(t, trc.Shutdown(sctx), "flushes the batch to the receiver")

	recv.mu.Lock()
	defer recv.mu.Unlock()
	byName := map[string]*tracepb.Span{}
	var signals []*tracepb.Span
	for _, s := range recv.spans {
		assert.Equal(t, traceID, hex.EncodeToString(s.TraceId), "%s continues the caller's trace", s.Name)
		for _, a := range s.Attributes {
			v := a.Value.String()
			for _, secret := range []string{"alice-secret-id", "198.51.100.7", "UniqueAgent"} {
				assert.NotContains(t, v, secret, "%s attribute %s", s.Name, a.Key)
			}
		}
		if strings.HasPrefix(s.Name, "riskauth.signal ") {
			signals = append(signals, s)
			continue
		}
		byName[s.Name] = s
	}
	server := byName["POST /v1/risk/evaluate"]
	require.NotNil(t, server, "a server span named after the route; got %d spans", len(recv.spans))
	assert.Equal(t, parentID, hex.EncodeToString(server.ParentSpanId))
	assert.Equal(t, tracepb.Span_SPAN_KIND_SERVER, server.Kind)
	eval := byName["riskauth.evaluate"]
	require.NotNil(t, eval)
	assert.Equal(t, server.SpanId, eval.ParentSpanId, "the evaluation nests in the request")
	attrs := map[string]string{}
	for _, a := range eval.Attributes {
		attrs[a.Key] = a.Value.GetStringValue()
	}
	assert.NotEmpty(t, attrs["riskauth.evaluation_id"])
	assert.Contains(t, []string{"passwordless", "step_up", "block"}, attrs["riskauth.decision"])
	require.NotEmpty(t, signals, "a span per signal")
	for _, s := range signals {
		assert.Equal(t, eval.SpanId, s.ParentSpanId, "%s nests in the evaluation", s.Name)
		assert.GreaterOrEqual(t, s.EndTimeUnixNano, s.StartTimeUnixNano)
	}
}
