package breached

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"github.com/stretchr/testify/require"
)

// recorder counts requests and remembers the last path and headers.
type recorder struct {
	next     http.Handler
	requests atomic.Int64
	mu       sync.Mutex
	paths    []string
	header   http.Header
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.requests.Add(1)
	r.mu.Lock()
	r.paths = append(r.paths, req.URL.Path)
	r.header = req.Header.Clone()
	r.mu.Unlock()
	r.next.ServeHTTP(w, req)
}

// rangeServer serves a table over real HTTP at /v1/breached/range/{prefix}.
func rangeServer(t *testing.T, tb *Table, wrap func(http.Handler) http.Handler) (*httptest.Server, *recorder) {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("GET /v1/breached/range/{prefix}", NewRangeHandler(tb))
	var h http.Handler = mux
	if wrap != nil {
		h = wrap(h)
	}
	rec := &recorder{next: h}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return srv, rec
}

func openTestTable(t *testing.T, n int) (*Table, []corpusEntry) {
	t.Helper()
	entries := synthCorpus(n, 21)
	out, _ := importFile(t, entries, ImportOptions{Format: FormatTable})
	tb, err := OpenTable(out)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tb.Close() })
	return tb, entries
}

func TestRangeClientAgainstRangeHandler(t *testing.T) {
	t.Parallel()
	tb, entries := openTestTable(t, 100_000)
	srv, rec := rangeServer(t, tb, nil)
	clock := clock.NewManual(time.Unix(1_700_000_000, 0))
	c, err := NewRangeClient(RangeClientConfig{BaseURL: srv.URL + "/v1/breached/", Clock: clock, UserAgent: "riskauth-test"})
	require.NoError(t, err)
	require.False(t, IsLocal(c))
	ctx := context.Background()

	for p, want := range knownPasswords {
		r, err := c.Check(ctx, p)
		require.NoError(t, err)
		require.True(t, r.Breached, p)
		require.InDelta(t, want, r.Count, float64(want)/1000, p)
	}
	for _, p := range absentPasswords {
		r, err := c.Check(ctx, p)
		require.NoError(t, err)
		require.False(t, r.Breached, p)
	}
	// Only the 5-hex-digit prefix leaves the host, with padding asked for.
	rec.mu.Lock()
	for _, path := range rec.paths {
		require.Regexp(t, `^/v1/breached/range/[0-9A-F]{5}$`, path)
	}
	require.Equal(t, "true", rec.header.Get("Add-Padding"))
	require.Equal(t, "riskauth-test", rec.header.Get("User-Agent"))
	rec.mu.Unlock()

	// The cache answers repeated prefixes until the TTL passes.
	before := rec.requests.Load()
	r, err := c.Check(ctx, "hunter2")
	require.NoError(t, err)
	require.True(t, r.Breached)
	require.Equal(t, before, rec.requests.Load())
	clock.Advance(DefaultRangeCacheTTL + time.Second)
	_, err = c.Check(ctx, "hunter2")
	require.NoError(t, err)
	require.Equal(t, before+1, rec.requests.Load())

	// Random corpus entries, by digest, agree with the table.
	for i := 0; i < 300; i++ {
		e := entries[i*97%len(entries)]
		prefix, suffix := splitDigest(&e.sum)
		got, err := c.lookup(ctx, prefix)
		require.NoError(t, err)
		count, ok := matchRange(got, &suffix)
		require.True(t, ok)
		require.Equal(t, tb.CheckSHA1(&e.sum).Count, int(count))
	}
}

func TestRangeHandlerResponses(t *testing.T) {
	t.Parallel()
	tb, _ := openTestTable(t, 20_000)
	srv, _ := rangeServer(t, tb, nil)
	sum := sha1.Sum([]byte("hunter2"))
	prefix := strings.ToUpper(hex.EncodeToString(sum[:]))[:5]

	get := func(path string, padding bool) (*http.Response, string) {
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		require.NoError(t, err)
		if padding {
			req.Header.Set("Add-Padding", "true")
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(b)
	}
	resp, body := get("/v1/breached/range/"+prefix, false)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
	lines := strings.Split(strings.TrimSuffix(body, "\r\n"), "\r\n")
	require.NotEmpty(t, lines)
	suffix := strings.ToUpper(hex.EncodeToString(sum[:]))[5:15]
	require.Contains(t, lines, suffix+":40000")
	for _, l := range lines {
		require.Regexp(t, `^[0-9A-F]{10}:[1-9][0-9]*$`, l)
	}

	// Padding: 800..1000 lines, the extra ones with count 0.
	resp, padded := get("/v1/breached/range/"+strings.ToLower(prefix), true)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	plines := strings.Split(strings.TrimSuffix(padded, "\r\n"), "\r\n")
	require.GreaterOrEqual(t, len(plines), padMinLines)
	require.LessOrEqual(t, len(plines), padMaxLines)
	zero := 0
	for _, l := range plines {
		if strings.HasSuffix(l, ":0") {
			zero++
		}
	}
	require.Equal(t, len(plines)-len(lines), zero)

	for _, bad := range []string{"ABCD", "ABCDEF", "GHIJK", "ABCD%20"} {
		resp, body := get("/v1/breached/range/"+bad, false)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, bad)
		require.JSONEq(t, `{"error":{"code":"invalid_prefix","message":"the hash prefix must be 5 hex digits"}}`, body)
	}
	// Without a routing pattern (as behind an adaptor), the last segment is the prefix.
	w := httptest.NewRecorder()
	NewRangeHandler(tb).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/anything/range/"+prefix, nil))
	require.Equal(t, http.StatusOK, w.Code)
	require.Contains(t, w.Body.String(), suffix+":40000")
	w = httptest.NewRecorder()
	NewRangeHandler(tb).ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/breached/range/"+prefix, nil))
	require.Equal(t, http.StatusMethodNotAllowed, w.Code)
}

// hibpStyle serves full 35-digit suffixes, in lower case when lower is
// set, with zero-count padding: the public API's shape.
func hibpStyle(entries map[string]int, lower bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		prefix := strings.ToUpper(r.URL.Path[len(r.URL.Path)-5:])
		var b bytes.Buffer
		for h, c := range entries {
			if strings.HasPrefix(h, prefix) {
				s := h[5:]
				if lower {
					s = strings.ToLower(s)
				}
				fmt.Fprintf(&b, "%s:%d\r\n", s, c)
			}
		}
		if r.Header.Get("Add-Padding") == "true" {
			for i := 0; i < 5; i++ {
				fmt.Fprintf(&b, "%035X:0\r\n", i)
			}
		}
		_, _ = w.Write(b.Bytes())
	})
}

func TestRangeClientHIBPShape(t *testing.T) {
	t.Parallel()
	entries := map[string]int{}
	for p, c := range knownPasswords {
		s := sha1.Sum([]byte(p))
		entries[strings.ToUpper(hex.EncodeToString(s[:]))] = int(c)
	}
	for _, lower := range []bool{false, true} {
		srv := httptest.NewServer(hibpStyle(entries, lower))
		t.Cleanup(srv.Close)
		c, err := NewRangeClient(RangeClientConfig{BaseURL: srv.URL, CacheSize: -1})
		require.NoError(t, err)
		for p, want := range knownPasswords {
			r, err := c.Check(context.Background(), p)
			require.NoError(t, err)
			require.Equal(t, Result{Breached: true, Count: int(want)}, r, p)
		}
		// A password sharing nothing but the prefix is not a match.
		r, err := c.Check(context.Background(), "hunter3")
		require.NoError(t, err)
		require.False(t, r.Breached)
	}
}

func TestRangeClientBreaker(t *testing.T) {
	t.Parallel()
	var fail atomic.Bool
	fail.Store(true)
	tb, _ := openTestTable(t, 1_000)
	srv, rec := rangeServer(t, tb, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if fail.Load() {
				http.Error(w, "boom", http.StatusInternalServerError)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	// The breaker stays open for openFor on the wall clock (gobreaker reads
	// no injected clock): the ten calls below must all fall in it. It was
	// 50ms, which a descheduled test on a loaded machine overran (a probe
	// then went through); 2s is a thousand times what they take, and the
	// wait for the probe is testenv.Patience.
	const openFor = 2 * time.Second
	c, err := NewRangeClient(RangeClientConfig{
		BaseURL: srv.URL + "/v1/breached", BreakerFailures: 3, BreakerOpenFor: openFor, CacheSize: -1,
	})
	require.NoError(t, err)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		_, err := c.Check(ctx, "hunter2")
		require.ErrorIs(t, err, ErrUnavailable)
		require.ErrorContains(t, err, "HTTP 500")
	}
	require.EqualValues(t, 3, rec.requests.Load())
	// Open: fails fast, nothing is sent.
	for i := 0; i < 10; i++ {
		_, err := c.Check(ctx, "hunter2")
		require.ErrorIs(t, err, ErrUnavailable)
		require.ErrorContains(t, err, "circuit breaker is open")
	}
	require.EqualValues(t, 3, rec.requests.Load())

	// After the open period one probe goes through and closes it again.
	fail.Store(false)
	require.Eventually(t, func() bool {
		r, err := c.Check(ctx, "hunter2")
		return err == nil && r.Breached
	}, testenv.Patience, 10*time.Millisecond)
	r, err := c.Check(ctx, "hunter2")
	require.NoError(t, err)
	require.True(t, r.Breached)
}

func TestRangeClientCallerCancelDoesNotTrip(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(block) })
	c, err := NewRangeClient(RangeClientConfig{BaseURL: srv.URL, BreakerFailures: 1, CacheSize: -1, Timeout: 5 * time.Second})
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		_, err := c.Check(ctx, "hunter2")
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.NotContains(t, err.Error(), "circuit breaker is open")
	}
	// The client's own timeout is a server failure and does trip it.
	c2, err := NewRangeClient(RangeClientConfig{BaseURL: srv.URL, BreakerFailures: 1, CacheSize: -1, Timeout: 20 * time.Millisecond})
	require.NoError(t, err)
	_, err = c2.Check(context.Background(), "hunter2")
	require.ErrorIs(t, err, ErrUnavailable)
	_, err = c2.Check(context.Background(), "hunter2")
	require.ErrorContains(t, err, "circuit breaker is open")
}

func TestRangeClientBadResponses(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"garbage":      "<html>hello</html>",
		"short suffix": "ABCDEF:12\r\n",
		"bad count":    strings.Repeat("A", 35) + ":x\r\n",
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, body) }))
		t.Cleanup(srv.Close)
		c, err := NewRangeClient(RangeClientConfig{BaseURL: srv.URL, CacheSize: -1})
		require.NoError(t, err)
		_, err = c.Check(context.Background(), "hunter2")
		require.ErrorIs(t, err, ErrUnavailable, name)
		require.ErrorIs(t, err, ErrRangeResponse, name)
	}
	_, err := NewRangeClient(RangeClientConfig{BaseURL: "ftp://example.invalid"})
	require.Error(t, err)
}

func TestPrefixCacheLRU(t *testing.T) {
	t.Parallel()
	clock := clock.NewManual(time.Unix(0, 0))
	c := newPrefixCache(2, time.Minute, clock)
	c.put(1, nil)
	c.put(2, nil)
	_, ok := c.get(1)
	require.True(t, ok)
	c.put(3, nil) // evicts 2, the least recently used
	_, ok = c.get(2)
	require.False(t, ok)
	_, ok = c.get(1)
	require.True(t, ok)
	require.Equal(t, 2, c.len())
	clock.Advance(time.Minute)
	_, ok = c.get(1)
	require.False(t, ok)
}

func TestParseRange(t *testing.T) {
	t.Parallel()
	body := "0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n" +
		"00d4f6e8fa6eecad2a3aa415eec418d38ec:2\r\n" +
		"011053FD0102E94D6AE2F8B83D76FAF94F6:0\r\n" + // padding
		"\r\n" +
		"ABCDEF0123:4294967296\n" // clamped, truncated suffix, no CR
	got, err := parseRange([]byte(body))
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.EqualValues(t, 35, got[0].n)
	require.EqualValues(t, 1, got[0].count)
	require.EqualValues(t, 2, got[1].count)
	require.EqualValues(t, 10, got[2].n)
	require.EqualValues(t, uint32(4294967295), got[2].count)

	var own [18]byte
	own[0], own[1], own[2], own[3], own[4], own[5] = 0xAB, 0xCD, 0xEF, 0x01, 0x23, 0x99
	c, ok := matchRange(got, &own)
	require.True(t, ok)
	require.EqualValues(t, uint32(4294967295), c)
}

func FuzzParseRange(f *testing.F) {
	f.Add([]byte("0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n00d4f6e8fa6eecad2a3aa415eec418d38ec:0\r\n"))
	f.Add([]byte("ABCDEF0123:99999999999999999999\n\n"))
	f.Add([]byte(":\n:1\nZZ"))
	f.Fuzz(func(t *testing.T, body []byte) {
		entries, err := parseRange(body)
		if err != nil {
			return
		}
		for _, e := range entries {
			if e.n < MinRangeSuffixDigits || e.n > 35 || e.count == 0 {
				t.Fatalf("bad entry %+v from %q", e, body)
			}
			// Unknown nibbles are zero.
			if e.n%2 == 1 && e.suffix[e.n/2]&0x0f != 0 {
				t.Fatalf("stray nibble in %+v", e)
			}
			for i := (int(e.n) + 1) / 2; i < len(e.suffix); i++ {
				if e.suffix[i] != 0 {
					t.Fatalf("stray byte in %+v", e)
				}
			}
			var own [18]byte
			copy(own[:], e.suffix[:])
			if _, ok := matchRange([]rangeEntry{e}, &own); !ok {
				t.Fatalf("entry does not match itself: %+v", e)
			}
		}
	})
}

func TestSplitDigest(t *testing.T) {
	t.Parallel()
	sum := sha1.Sum([]byte("password"))
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	prefix, suffix := splitDigest(&sum)
	require.Equal(t, h[:5], fmt.Sprintf("%05X", prefix))
	require.Equal(t, h[5:]+"0", strings.ToUpper(hex.EncodeToString(suffix[:])))
}

func TestRangeClientConcurrent(t *testing.T) {
	t.Parallel()
	tb, _ := openTestTable(t, 5_000)
	srv, _ := rangeServer(t, tb, nil)
	c, err := NewRangeClient(RangeClientConfig{BaseURL: srv.URL + "/v1/breached", CacheSize: 4})
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				p := []string{"hunter2", "Tr0ub4dor&3", "nope", fmt.Sprint(g, i)}[i%4]
				r, err := c.Check(context.Background(), p)
				if err != nil {
					errs <- err
					return
				}
				if want := knownPasswords[p] > 0; r.Breached != want {
					errs <- fmt.Errorf("%q: breached=%v", p, r.Breached)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.LessOrEqual(t, c.cache.len(), 4)
}
