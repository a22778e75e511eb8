package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"github.com/riskauth/riskauth/rules"
)

// The cluster test (issue 23): three riskauthd processes on loopback
// share a Redis Cluster, one PostgreSQL schema and an in-process Kafka
// (kfake, three brokers, in this test process). Every check waits on a
// condition with testenv's patience, never on a duration.

const (
	clusterAPIKey   = "cluster-api-key-0123456789"
	clusterAdminKey = "cluster-admin-key-0123456789"
	clusterPassword = "violet tractor umbrella 42"
	clusterUA       = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
	// The per-IP limit of the cluster: one request a minute, this burst.
	clusterBurst = 12
	// Wrong passwords of an account before it is held (one per instance).
	clusterHoldAfter = 3
)

// node is one riskauthd process.
type node struct {
	name string
	base string
	dir  string
	env  []string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	logs *os.File
}

// cluster is the three processes and what they share.
type cluster struct {
	t     *testing.T
	bin   string
	nodes []*node
	kafka []string
	pg    string // the database URL with the test's schema
}

// buildDaemon builds riskauthd once for the test.
func buildDaemon(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "riskauthd")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// freeAddr is a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// pgSchema creates a schema of the test's own and returns the URL that
// selects it.
func pgSchema(t *testing.T) string {
	t.Helper()
	url := testenv.Require(t, testenv.EnvPostgresURL)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "cluster_" + hex.EncodeToString(b[:])
	ctx := testenv.Context(t)
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	_ = conn.Close(ctx)
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), url)
		if err == nil {
			_, _ = c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			_ = c.Close(context.Background())
		}
	})
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "search_path=" + schema
}

func key32() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	redisNodes := testenv.RedisCluster(t)
	pg := pgSchema(t)
	kf, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(3, "riskauth.alerts", "riskauth.audit"))
	require.NoError(t, err)
	t.Cleanup(kf.Close)
	c := &cluster{t: t, bin: buildDaemon(t), kafka: kf.ListenAddrs(), pg: pg}

	root := t.TempDir()
	cfgFile := filepath.Join(root, "riskauth.yaml")
	// The evaluation deadline is not what this test checks: a loaded
	// machine must not floor decisions. Alerts are not folded, so that
	// each blocked attempt is one alert to find.
	require.NoError(t, os.WriteFile(cfgFile, []byte(fmt.Sprintf(`
engine:
  deadline: %s
redis:
  prefix: "cl%d:"
rules:
  poll: 1s
alerts:
  aggregate_window: -1s
authn:
  rate_limit: { per_ip_per_minute: 1, burst: %d }
  lockout: { account_step_up_after: %d }
`, testenv.Budget, time.Now().UnixNano(), clusterBurst, clusterHoldAfter)), 0o644))
	shared := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"RISKAUTH_CONFIG=" + cfgFile,
		"RISKAUTH_REDIS_URL=" + strings.Join(redisNodes, ","),
		"RISKAUTH_DATABASE_URL=" + pg,
		"RISKAUTH_KAFKA_BROKERS=" + strings.Join(c.kafka, ","),
		"RISKAUTH_API_KEYS=" + clusterAPIKey,
		"RISKAUTH_ADMIN_API_KEYS=ops:" + clusterAdminKey,
		"RISKAUTH_TRUSTED_PROXIES=127.0.0.0/8",
		"RISKAUTH_DEVICE_SECRET=" + key32(),
		"RISKAUTH_AUTHN_SECRET=" + key32(),
		"RISKAUTH_SEAL_KEYS=k1:" + key32(),
		"RISKAUTH_ACCESS_TOKENS=false",
		"RISKAUTH_LOG_LEVEL=warn",
		"RISKAUTH_MEMORY_LIMIT=256MiB",
		"RISKAUTH_PUBLIC_ORIGIN=http://127.0.0.1",
	}
	for _, name := range []string{"a", "b", "c"} {
		dir := filepath.Join(root, name)
		require.NoError(t, os.MkdirAll(dir, 0o700))
		rulesFile := filepath.Join(dir, "rules.yaml")
		require.NoError(t, os.WriteFile(rulesFile, rules.DefaultFile, 0o644))
		addr := freeAddr(t)
		n := &node{name: name, base: "http://" + addr, dir: dir,
			env: append(append([]string(nil), shared...), "RISKAUTH_ADDR="+addr, "RISKAUTH_DATA_DIR="+dir, "RISKAUTH_RULES_FILE="+rulesFile)}
		c.nodes = append(c.nodes, n)
		c.start(n)
	}
	t.Cleanup(func() {
		for _, n := range c.nodes {
			c.stop(n, syscall.SIGKILL)
			if t.Failed() {
				b, _ := os.ReadFile(n.logs.Name())
				t.Logf("riskauthd %s log (tail):\n%s", n.name, tail(b, 4000))
			}
		}
	})
	return c
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// start runs n's process and waits until it is ready.
func (c *cluster) start(n *node) {
	c.t.Helper()
	logs, err := os.OpenFile(filepath.Join(n.dir, "riskauthd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	require.NoError(c.t, err)
	n.logs = logs
	n.cmd = exec.Command(c.bin)
	n.cmd.Env = n.env
	n.cmd.Stdout, n.cmd.Stderr = logs, logs
	require.NoError(c.t, n.cmd.Start())
	n.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(n.cmd, n.done)
	testenv.Eventually(c.t, "riskauthd "+n.name+" ready", func() bool {
		select {
		case <-n.done:
			b, _ := os.ReadFile(logs.Name())
			c.t.Fatalf("riskauthd %s exited at start:\n%s", n.name, tail(b, 4000))
		default:
		}
		resp, err := http.Get(n.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// stop signals n's process and waits until it has exited.
func (c *cluster) stop(n *node, sig syscall.Signal) {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	select {
	case <-n.done:
	default:
		_ = n.cmd.Process.Signal(sig)
		select {
		case <-n.done:
		case <-time.After(testenv.Patience):
			_ = n.cmd.Process.Kill()
			<-n.done
		}
	}
	_ = n.logs.Close()
}

// request is one HTTP call to a node; ip, when set, is the client address
// (X-Forwarded-For from a trusted proxy). err is a transport failure.
type request struct {
	method, path string
	body         any
	ip           string
	bearer       string // API key or session token
	admin        bool
	yaml         []byte
	ifMatch      string
}

type answer struct {
	code int
	m    map[string]any
	hdr  http.Header
}

func do(base string, r request) (answer, error) {
	var rd io.Reader
	switch {
	case r.yaml != nil:
		rd = bytes.NewReader(r.yaml)
	case r.body != nil:
		b, err := json.Marshal(r.body)
		if err != nil {
			return answer{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(r.method, base+r.path, rd)
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if r.yaml != nil {
		req.Header.Set("Content-Type", "application/yaml")
	}
	req.Header.Set("Riskauth-Session", "bearer")
	req.Header.Set("User-Agent", clusterUA)
	if r.ip != "" {
		req.Header.Set("X-Forwarded-For", r.ip)
	}
	switch {
	case r.admin:
		req.Header.Set("Authorization", "Bearer "+clusterAdminKey)
	case r.bearer != "":
		req.Header.Set("Authorization", "Bearer "+r.bearer)
	}
	if r.ifMatch != "" {
		req.Header.Set("If-Match", r.ifMatch)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	a := answer{code: resp.StatusCode, hdr: resp.Header}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &a.m); err != nil {
			return a, fmt.Errorf("%s %s: %d %q: %w", r.method, r.path, resp.StatusCode, raw, err)
		}
	}
	return a, nil
}

// call is do on a live node: a transport failure fails the test.
func (c *cluster) call(n *node, r request) answer {
	c.t.Helper()
	a, err := do(n.base, r)
	require.NoError(c.t, err, "%s %s on %s", r.method, r.path, n.name)
	return a
}

var linkToken = regexp.MustCompile(`token=([A-Za-z0-9_-]+)`)

// mailToken waits for n's outbox to hold a mail of kind to to and returns
// its link token.
func (c *cluster) mailToken(n *node, to string, kind mail.Kind) string {
	c.t.Helper()
	tok := ""
	testenv.Eventually(c.t, string(kind)+" mail to "+to+" in "+n.name+"'s outbox", func() bool {
		f, err := os.Open(filepath.Join(n.dir, mail.OutboxFile))
		if err != nil {
			return false
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var r mail.OutboxRecord
			if json.Unmarshal(sc.Bytes(), &r) == nil && r.To == to && r.Kind == kind {
				if m := linkToken.FindStringSubmatch(r.Text); m != nil {
					tok = m[1]
				}
			}
		}
		return tok != ""
	})
	return tok
}

// register creates a verified account for a client at ip: registered
// on from, verified on to (a flow started on one instance continued on
// another).
func (c *cluster) register(from, to *node, email, ip string) {
	c.t.Helper()
	a := c.call(from, request{method: http.MethodPost, path: "/v1/register", ip: ip, body: map[string]any{"email": email, "password": clusterPassword}})
	require.Equal(c.t, http.StatusAccepted, a.code, "%v", a.m)
	tok := c.mailToken(from, email, mail.KindVerifyEmail)
	v := c.call(to, request{method: http.MethodPost, path: "/v1/verify-email", ip: ip,
		body: map[string]any{"token": tok, "registration_secret": a.m["registration_secret"]}})
	require.Equal(c.t, http.StatusOK, v.code, "%v", v.m)
	require.Equal(c.t, "verified", v.m["status"])
}

func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	require.NoError(t, err)
	return code
}

// session returns the session token of an authenticated answer.
func session(t *testing.T, a answer) string {
	t.Helper()
	require.Equal(t, http.StatusOK, a.code, "%v", a.m)
	require.Equal(t, "authenticated", a.m["status"], "%v", a.m)
	tok, _ := a.m["session"].(map[string]any)["token"].(string)
	require.NotEmpty(t, tok)
	return tok
}

// evaluate asks n for a decision on a sign-in of user from ip.
func evaluate(base, user, ip string) (answer, error) {
	return do(base, request{method: http.MethodPost, path: "/v1/risk/evaluate", bearer: clusterAPIKey,
		body: map[string]any{"event": "login", "user_id": user, "ip": ip, "user_agent": "python-requests/2.32.3"}})
}

// firstBlock sends one attempt per user from ip, the i-th to bases[i %
// len(bases)], and returns the index of the first blocked one (-1: none).
func (c *cluster) firstBlock(ip string, users int, bases ...string) int {
	c.t.Helper()
	first := -1
	for i := range users {
		a, err := evaluate(bases[i%len(bases)], fmt.Sprintf("wave-user-%02d", i), ip)
		require.NoError(c.t, err)
		require.Equal(c.t, http.StatusOK, a.code, "%v", a.m)
		if a.m["decision"] == "block" && first < 0 {
			first = i
		}
	}
	return first
}

func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three riskauthd processes")
	}
	c := newCluster(t)
	a, b, cc := c.nodes[0], c.nodes[1], c.nodes[2]

	t.Run("velocity is global", func(t *testing.T) {
		c := *c
		c.t = t
		// The same accounts from two addresses: one wave spread over the
		// three instances, one sent to a single instance. The spread one
		// is blocked at the same attempt as the single one.
		spread := c.firstBlock("203.0.113.71", 30, a.base, b.base, cc.base)
		single := c.firstBlock("203.0.113.72", 30, a.base)
		require.GreaterOrEqual(t, single, 0, "the default rules block a stuffing wave of 30 accounts")
		assert.Equal(t, single, spread, "blocked at the same attempt whether spread over three instances or not")
	})

	var secret string
	const email = "kim@example.com"
	t.Run("flows and TOTP across instances", func(t *testing.T) {
		c := *c
		c.t = t
		const ip = "192.0.2.50"
		c.register(a, b, email, ip) // registered on a, verified on b

		s := session(t, c.call(cc, request{ip: ip, method: http.MethodPost, path: "/v1/login",
			body: map[string]any{"identifier": email, "password": clusterPassword}}))
		en := c.call(a, request{ip: ip, method: http.MethodPost, path: "/v1/totp", bearer: s})
		require.Equal(t, http.StatusOK, en.code, "%v", en.m)
		secret = en.m["secret"].(string)
		conf := c.call(b, request{ip: ip, method: http.MethodPost, path: "/v1/totp/confirm", bearer: s,
			body: map[string]any{"factor_id": en.m["factor_id"], "code": totpCode(t, secret, time.Now())}})
		require.Equal(t, http.StatusOK, conf.code, "TOTP begun on a, confirmed on b: %v", conf.m)

		// A sign-in started on a continues on b; its code is then spent.
		l := c.call(a, request{ip: ip, method: http.MethodPost, path: "/v1/login", body: map[string]any{"identifier": email, "password": clusterPassword}})
		require.Equal(t, "second_factor_required", l.m["status"], "%v", l.m)
		code := totpCode(t, secret, time.Now().Add(30*time.Second))
		s2 := session(t, c.call(b, request{ip: ip, method: http.MethodPost, path: "/v1/login/totp", body: map[string]any{"flow_id": l.m["flow_id"], "code": code}}))
		who := c.call(cc, request{ip: ip, method: http.MethodGet, path: "/v1/session", bearer: s2})
		require.Equal(t, http.StatusOK, who.code, "a session issued on b is valid on c: %v", who.m)

		// The same code on c, in a flow of c's own: refused.
		l = c.call(cc, request{ip: ip, method: http.MethodPost, path: "/v1/login", body: map[string]any{"identifier": email, "password": clusterPassword}})
		require.Equal(t, "second_factor_required", l.m["status"], "%v", l.m)
		replay := c.call(cc, request{ip: ip, method: http.MethodPost, path: "/v1/login/totp", body: map[string]any{"flow_id": l.m["flow_id"], "code": code}})
		assert.NotEqual(t, http.StatusOK, replay.code, "a TOTP code spent on b is refused on c: %v", replay.m)
	})

	var promoted, rolledBack string
	t.Run("rule promotion on one is active on all", func(t *testing.T) {
		c := *c
		c.t = t
		st := c.call(b, request{method: http.MethodGet, path: "/v1/admin/rules", admin: true})
		require.Equal(t, http.StatusOK, st.code, "%v", st.m)
		before := st.m["active"].(map[string]any)["version"].(string)
		next := append(append([]byte(nil), rules.DefaultFile...), "\n# promoted in the cluster test\n"...)
		p := c.call(b, request{method: http.MethodPost, path: "/v1/admin/rules/promote", admin: true, yaml: next, ifMatch: `"` + before + `"`})
		require.Equal(t, http.StatusOK, p.code, "%v", p.m)
		promoted, _ = p.m["active"].(map[string]any)["version"].(string)
		require.NotEmpty(t, promoted)
		require.NotEqual(t, before, promoted)
		active := func(n *node, v string) func() bool {
			return func() bool {
				st := c.call(n, request{method: http.MethodGet, path: "/v1/admin/rules", admin: true})
				return st.code == http.StatusOK && st.m["active"].(map[string]any)["version"] == v
			}
		}
		for _, n := range []*node{a, cc} {
			testenv.Eventually(t, "the promoted version active on "+n.name, active(n, promoted))
		}
		r := c.call(cc, request{method: http.MethodPost, path: "/v1/admin/rules/rollback", admin: true})
		require.Equal(t, http.StatusOK, r.code, "rolled back on c: %v", r.m)
		rolledBack = before
		for _, n := range []*node{a, b} {
			testenv.Eventually(t, "the rollback active on "+n.name, active(n, before))
		}
	})

	t.Run("rate limits are shared", func(t *testing.T) {
		c := *c
		c.t = t
		began := time.Now()
		allowed := 0
		for i := range 3 * clusterBurst {
			n := c.nodes[i%3]
			r := c.call(n, request{method: http.MethodPost, path: "/v1/verify-email", ip: "198.51.100.99",
				body: map[string]any{"token": "not-a-real-token-000000000000"}})
			if r.code != http.StatusTooManyRequests {
				allowed++
			}
		}
		// One token a minute: however slow the machine, at most the burst
		// and the minutes begun pass. Per instance it would be 3× the burst.
		assert.LessOrEqual(t, allowed, clusterBurst+int(time.Since(began)/time.Minute)+1)
		assert.GreaterOrEqual(t, allowed, clusterBurst)

		// The per-account limits are counted in PostgreSQL: one wrong
		// password on each instance adds up to the account threshold, and
		// the right password is then held (asked for an email code) too.
		const ip, email = "192.0.2.70", "max@example.com"
		c.register(a, b, email, ip)
		login := func(n *node, password string) answer {
			return c.call(n, request{ip: ip, method: http.MethodPost, path: "/v1/login", body: map[string]any{"identifier": email, "password": password}})
		}
		session(t, login(cc, clusterPassword)) // not held yet
		for i := range clusterHoldAfter {
			r := login(c.nodes[i%3], "not the password at all")
			require.Equal(t, http.StatusUnauthorized, r.code, "%v", r.m)
		}
		held := login(cc, clusterPassword)
		require.Equal(t, http.StatusOK, held.code, "%v", held.m)
		assert.Equal(t, "second_factor_required", held.m["status"], "held after %d wrong passwords spread over three instances: %v", clusterHoldAfter, held.m)
	})

	t.Run("killing one instance mid-load loses nothing", func(t *testing.T) {
		c := *c
		c.t = t
		c.killUnderLoad(t)
	})

	// Stop the rest gracefully: every queued alert and audit event is
	// produced before the processes exit.
	for _, n := range c.nodes {
		c.stop(n, syscall.SIGTERM)
	}
	t.Run("audit and alerts", func(t *testing.T) {
		recs := c.readTopic(t, "riskauth.alerts")
		var promotes, rollbacks int
		for _, r := range recs {
			switch {
			case bytes.Contains(r, []byte(`"action":"promote"`)) && bytes.Contains(r, []byte(promoted)):
				promotes++
			case bytes.Contains(r, []byte(`"action":"rollback"`)) && bytes.Contains(r, []byte(rolledBack)):
				rollbacks++
			}
		}
		assert.Equal(t, 1, promotes, "the promote is audited once, by the instance that made it")
		assert.Equal(t, 1, rollbacks, "the rollback is audited once")
		for _, u := range c.blocked() {
			found := false
			for _, r := range recs {
				if bytes.Contains(r, []byte(`"`+u+`"`)) {
					found = true
					break
				}
			}
			assert.True(t, found, "the alert of the blocked attempt on %s", u)
		}
	})
}

// readTopic reads topic to its end: a sentinel record produced now, with
// the rule-change key, lands after everything produced before on that
// partition; every partition gets one.
func (c *cluster) readTopic(t *testing.T, topic string) [][]byte {
	t.Helper()
	ctx := testenv.Context(t)
	prod, err := kgo.NewClient(kgo.SeedBrokers(c.kafka...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	require.NoError(t, err)
	defer prod.Close()
	const partitions = 3
	for p := range partitions {
		require.NoError(t, prod.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: int32(p), Value: []byte("sentinel")}).FirstErr())
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.kafka...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()
	var recs [][]byte
	sentinels := map[int32]bool{}
	for len(sentinels) < partitions {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "reading %s to its end", topic)
		fs.EachRecord(func(r *kgo.Record) {
			if string(r.Value) == "sentinel" {
				sentinels[r.Partition] = true
				return
			}
			recs = append(recs, r.Value)
		})
	}
	return recs
}

// load is what the kill test sent and what answered.
type load struct {
	mu        sync.Mutex
	users     []string // registrations answered 202
	sessions  []string // sessions issued
	blocked   []string // users whose attempt was blocked by a live instance
	failovers int      // calls retried on another instance
}

var loadResult load

func (c *cluster) blocked() []string {
	loadResult.mu.Lock()
	defer loadResult.mu.Unlock()
	return append([]string(nil), loadResult.blocked...)
}

// killUnderLoad sends sign-ups, sign-ins and a stuffing wave round-robin
// over the three instances, kills b (SIGKILL) in the middle, and retries
// what failed on the next instance as a load balancer would. Afterwards
// every answered sign-up is an account, every issued session is valid on
// the instances left, and the survivors kept answering.
func (c *cluster) killUnderLoad(t *testing.T) {
	a, b := c.nodes[0], c.nodes[1]
	// Verified accounts that sign in during the load, each from an
	// address of its own (as people do), so that no velocity rule or rate
	// limit of the test's own making gets in the way.
	const people = 4
	for p := range people {
		c.register(c.nodes[p%3], c.nodes[(p+1)%3], fmt.Sprintf("person-%d@example.com", p), fmt.Sprintf("192.0.2.%d", 60+p))
	}
	const rounds = 24
	kill := rounds / 2
	l := &loadResult
	for i := range rounds {
		if i == kill {
			c.stop(b, syscall.SIGKILL)
		}
		// A failed call goes to the next instance; only b can fail.
		try := func(f func(n *node) (answer, error)) answer {
			for k := range 3 {
				n := c.nodes[(i+k)%3]
				ans, err := f(n)
				if err == nil {
					return ans
				}
				require.Equal(t, b, n, "only the killed instance may fail: %v", err)
				l.failovers++
			}
			t.Fatal("no instance answered")
			return answer{}
		}
		email := fmt.Sprintf("load-%02d@example.com", i)
		reg := try(func(n *node) (answer, error) {
			return do(n.base, request{method: http.MethodPost, path: "/v1/register", ip: fmt.Sprintf("198.51.100.%d", 100+i),
				body: map[string]any{"email": email, "password": clusterPassword}})
		})
		require.Equal(t, http.StatusAccepted, reg.code, "%v", reg.m)
		l.users = append(l.users, email)

		in := try(func(n *node) (answer, error) {
			return do(n.base, request{method: http.MethodPost, path: "/v1/login", ip: fmt.Sprintf("192.0.2.%d", 60+i%people),
				body: map[string]any{"identifier": fmt.Sprintf("person-%d@example.com", i%people), "password": clusterPassword}})
		})
		l.sessions = append(l.sessions, session(t, in))

		user := fmt.Sprintf("kill-user-%02d", i)
		var by *node
		ev := try(func(n *node) (answer, error) { by = n; return evaluate(n.base, user, "203.0.113.80") })
		require.Equal(t, http.StatusOK, ev.code, "%v", ev.m)
		if ev.m["decision"] == "block" && (by != b || i > kill) {
			l.blocked = append(l.blocked, user)
		}
	}
	assert.Positive(t, l.failovers, "some calls went to the killed instance")
	assert.NotEmpty(t, l.blocked, "the wave was blocked by the instances left")

	// Every answered sign-up is an account; every session is valid on
	// the instances left.
	ctx := testenv.Context(t)
	conn, err := pgx.Connect(ctx, c.pg)
	require.NoError(t, err)
	defer conn.Close(ctx)
	for _, e := range l.users {
		var n int
		require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM users WHERE email = $1", e).Scan(&n))
		assert.Equal(t, 1, n, "account %s", e)
	}
	// Used from the network they were issued to (192.0.2.0/24): a use
	// from another one is a session_use the default rules step up.
	for i, s := range l.sessions {
		for _, n := range []*node{a, c.nodes[2]} {
			who := c.call(n, request{ip: "192.0.2.60", method: http.MethodGet, path: "/v1/session", bearer: s})
			assert.Equal(t, http.StatusOK, who.code, "session %d on %s: %v", i, n.name, who.m)
		}
	}
}
