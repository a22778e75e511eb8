package main

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/riskauth/riskauth/cmd/internal/latency"
)

// outcome classifies one answer of POST /v1/login.
type outcome int

const (
	outAuthenticated outcome = iota // 200, a session
	outStepUp                       // 200, second_factor_required
	outFailed                       // 401 login_failed
	outBusy                         // 503 busy (hasher queue)
	outOther                        // anything else
	outError                        // transport error
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"authenticated", "step_up", "login_failed", "busy", "other", "error"}

// tally counts the answers of one sender in one phase.
type tally struct {
	mu        sync.Mutex
	n         [numOutcomes]int64
	lat       latency.Hist // every answer
	okLat     latency.Hist // authenticated answers
	firstBody string
}

func (t *tally) add(o outcome, d time.Duration, status int, body []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n[o]++
	t.lat.Record(d)
	if o == outAuthenticated {
		t.okLat.Record(d)
	}
	if (o == outOther || o == outError) && t.firstBody == "" {
		t.firstBody = fmt.Sprintf("%d %.200s", status, body)
	}
}

func (t *tally) total() int64 {
	var s int64
	for _, n := range t.n {
		s += n
	}
	return s
}

func (t *tally) mix() string {
	var parts []string
	for i, n := range t.n {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", outcomeNames[i], n))
		}
	}
	if t.firstBody != "" {
		parts = append(parts, "first unexpected: "+t.firstBody)
	}
	return strings.Join(parts, ", ")
}

func classify(err error, status int, body []byte) outcome {
	switch {
	case err != nil:
		return outError
	case status == 200 && bytes.Contains(body, []byte(`"status":"authenticated"`)):
		return outAuthenticated
	case status == 200 && bytes.Contains(body, []byte(`"status":"second_factor_required"`)):
		return outStepUp
	case status == 401 && bytes.Contains(body, []byte(`"login_failed"`)):
		return outFailed
	case status == 503:
		return outBusy
	}
	return outOther
}

// sender posts sign-ins to one server.
type sender struct {
	hc  *fasthttp.HostClient
	url string
	// probe sends GET url instead of a sign-in: the baseline of a request
	// that does nothing, through the same server and at the same rate.
	probe bool
}

func newSender(addr string, conns int) *sender {
	return &sender{url: "http://" + addr + "/v1/login", hc: &fasthttp.HostClient{
		Addr: addr, MaxConns: conns, MaxConnWaitTimeout: 30 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 10 * time.Second, MaxIdleConnDuration: time.Minute,
		NoDefaultUserAgentHeader: true,
	}}
}

// login sends one one-shot sign-in as c (address through X-Forwarded-For,
// the trusted proxy being the loopback connection), asking for a bearer
// token, and records the answer in t with its latency since from.
func (s *sender) login(c *client, from time.Time, t *tally) outcome {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(s.url)
	if s.probe {
		req.Header.SetMethod(fasthttp.MethodGet)
		err := s.hc.Do(req, resp)
		if t != nil {
			t.add(classify(err, resp.StatusCode(), resp.Body()), time.Since(from), resp.StatusCode(), resp.Body())
		}
		return outOther
	}
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.Set("X-Forwarded-For", c.ip)
	req.Header.Set("Riskauth-Session", "bearer")
	req.Header.SetUserAgent(c.ua)
	req.SetBodyRaw(c.body)
	err := s.hc.Do(req, resp)
	d := time.Since(from)
	o := classify(err, resp.StatusCode(), resp.Body())
	if t != nil {
		body := resp.Body()
		if err != nil {
			body = []byte(err.Error())
		}
		t.add(o, d, resp.StatusCode(), body)
	}
	return o
}

// scrape reads the server's /metrics: the argon2id operations (every op:
// verify, dummy, hash) and the engine's decisions by decision.
type scrape struct {
	hashes    float64
	decisions map[string]float64
}

func (s *sender) scrape() (scrape, error) {
	out := scrape{decisions: map[string]float64{}}
	status, body, err := s.hc.Get(nil, strings.TrimSuffix(s.url, "/v1/login")+"/metrics")
	if err != nil || status != 200 {
		return out, fmt.Errorf("GET /metrics: %d %v", status, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		name, val, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(name, "riskauth_password_hash_duration_seconds_count"):
			out.hashes += v
		case strings.HasPrefix(name, `riskauth_decisions_total{decision="`):
			d := strings.TrimSuffix(strings.TrimPrefix(name, `riskauth_decisions_total{decision="`), `"}`)
			out.decisions[d] += v
		}
	}
	return out, sc.Err()
}

func (a scrape) minus(b scrape) scrape {
	d := scrape{hashes: a.hashes - b.hashes, decisions: map[string]float64{}}
	for k, v := range a.decisions {
		if v-b.decisions[k] != 0 {
			d.decisions[k] = v - b.decisions[k]
		}
	}
	return d
}

func (a scrape) decisionMix() string {
	var parts []string
	for _, k := range []string{"passwordless", "step_up", "block"} {
		parts = append(parts, fmt.Sprintf("%s %.0f", k, a.decisions[k]))
	}
	return strings.Join(parts, ", ")
}
