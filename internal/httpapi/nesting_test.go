package httpapi_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/internal/httpapi"
)

// tooDeepBody is the answer to a body nested past the limit.
const tooDeepBody = `{"error":{"code":"malformed_json","message":"the JSON nests arrays and objects more than 32 levels deep"}}`

// nestedBody is the body: 30,000 nested arrays, 60 KB.
var nestedBody = []byte(strings.Repeat("[", 30000) + strings.Repeat("]", 30000))

// nestedRoutes are JSON routes of every decoder the API has, each reached
// without a session: the risk API (evaluate, both of its paths, and
// outcome) and sign-in routes of several body shapes.
var nestedRoutes = []struct{ path, body string }{
	{"/v1/risk/evaluate", string(nestedBody)},
	{"/v1/risk/evaluate", `{"event":"login","user_id":"u1","x":` + string(nestedBody) + `}`}, // fast path first
	{"/v1/risk/outcome", `{"evaluation_id":"ev_1","outcome":"success","x":` + string(nestedBody) + `}`},
	{"/v1/register", `{"email":"a@b.example","password":"correct horse battery staple","client":{"x":` + string(nestedBody) + `}}`},
	{"/v1/login", string(nestedBody)},
	{"/v1/login/password", `{"flow_id":"f","password":"p","x":` + string(nestedBody) + `}`},
	{"/v1/password/reset/request", `{"email":"a@b.example","x":` + string(nestedBody) + `}`},
}

func TestNestedBodiesRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	for _, rt := range nestedRoutes {
		r := e.post(rt.path, rt.body)
		assert.Equal(t, http.StatusBadRequest, r.status, "%s", rt.path)
		assert.JSONEq(t, tooDeepBody, string(r.body), "%s", rt.path)
		assert.Equal(t, "malformed_json", r.errorCode(t))
	}
	// At the limit the body is decoded as usual.
	r := e.post("/v1/risk/evaluate", `{"event":"login","user_id":"u1","x":`+strings.Repeat("[", 31)+strings.Repeat("]", 31)+`}`)
	assert.Equal(t, http.StatusOK, r.status, "%s", r.body)
}

// envFloodChild tells the test binary that it is TestNestedBodyFlood's
// child, which floods a server of its own and reports its peak RSS.
const envFloodChild = "RISKAUTH_NESTED_FLOOD_CHILD"

// Flood size: the 64 clients sending 20 nested bodies each.
const (
	floodClients = 64
	floodBodies  = 20
	floodPeakMB  = 300
)

// TestNestedBodyFlood sends the flood (64 concurrent clients × 20
// bodies of 30,000 nested arrays, round robin over the routes above) to a
// real server on a loopback port and checks the process's peak RSS
// (VmHWM) stays under 300 MB; before the nesting check it reached 3.15 GB
// in riskauthd. It runs in a child process so that the peak is the flood's
// and not that of the tests before it. Linux only (/proc).
func TestNestedBodyFlood(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc/self/status: peak RSS is measured on Linux only")
	}
	if os.Getenv(envFloodChild) != "" {
		floodChild(t)
		return
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestNestedBodyFlood$", "-test.count=1", "-test.v", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), envFloodChild+"=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "the flood's child failed:\n%s", out)
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "peak RSS") {
			t.Log(strings.TrimSpace(l))
		}
	}
}

func floodChild(t *testing.T) {
	e := newEnv(t, httpapi.Config{})
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: floodClients}}
	t.Cleanup(client.CloseIdleConnections)
	runtime.GC()
	before := procStatusKB(t, "VmRSS")
	// Reset the peak to the current RSS, so that VmHWM is the flood's.
	require.NoError(t, os.WriteFile("/proc/self/clear_refs", []byte("5"), 0))

	var wg sync.WaitGroup
	errs := make(chan error, floodClients)
	for c := range floodClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range floodBodies {
				rt := nestedRoutes[(c+i)%len(nestedRoutes)]
				if err := postExpect(client, e.url+rt.path, rt.body); err != nil {
					errs <- fmt.Errorf("client %d, body %d, %s: %w", c, i, rt.path, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	peak := procStatusKB(t, "VmHWM")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("peak RSS %.1f MB during %d×%d nested bodies (RSS before %.1f MB; stacks from the OS %.1f MB, heap %.1f MB after)",
		float64(peak)/1024, floodClients, floodBodies, float64(before)/1024, float64(ms.StackSys)/(1<<20), float64(ms.HeapSys)/(1<<20))
	assert.Less(t, peak, int64(floodPeakMB<<10), "peak RSS in kB")
}

// postExpect sends one body and checks the answer is the nesting error.
func postExpect(c *http.Client, url, body string) error {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusBadRequest || !bytes.Contains(b, []byte("more than 32 levels deep")) {
		return errors.New(strconv.Itoa(resp.StatusCode) + " " + string(b))
	}
	return nil
}

// procStatusKB reads a kB field of /proc/self/status.
func procStatusKB(t *testing.T, field string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			require.NoError(t, err)
			return n
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}
