package httpapi_test

import (
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/riskauth/riskauth/internal/httpapi"
)

// BenchmarkEvaluateHTTP measures POST /v1/risk/evaluate end to end through
// fasthttp over an in-memory listener (no kernel TCP), with the real engine
// on embedded defaults, from parallel keep-alive clients.
func BenchmarkEvaluateHTTP(b *testing.B) {
	reg := prometheus.NewRegistry()
	eng, store := newEngine(b, reg)
	defer store.Close()
	srv, err := httpapi.New(httpapi.Config{APIKeys: []string{testKey}}, httpapi.Deps{Engine: eng, Registry: reg, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(b, err)
	ln := fasthttputil.NewInmemoryListener()
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Shutdown(b.Context()) }()
	client := &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }, MaxConnsPerHost: 1024}

	bodies := make([][]byte, 4096)
	for i := range bodies {
		bodies[i] = []byte(loginBody(fmt.Sprintf("u-%d", i%1000), fmt.Sprintf("198.51.%d.%d", i%200, i%250+1)))
	}
	var n atomic.Int64
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://riskauth/v1/risk/evaluate")
		req.Header.SetMethod("POST")
		req.Header.Set("Authorization", "Bearer "+testKey)
		for pb.Next() {
			req.SetBodyRaw(bodies[n.Add(1)%int64(len(bodies))])
			if err := client.Do(req, resp); err != nil || resp.StatusCode() != 200 {
				b.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body())
			}
		}
	})
}
