package testenv

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Proc is a throw-away server process that one test owns, for fault
// tests: unlike the shared servers of the test command, it may be frozen
// (SIGSTOP: a hung backend whose connections stay open and never answer),
// thawed, stopped and started again. The process and everything it
// forks run in a process group of their own, which every signal targets;
// the test's cleanup thaws and kills the group and removes its files,
// whatever the test did.
type Proc struct {
	// Addr is the server's host:port on the loopback interface.
	Addr string
	// Dir holds the server's files.
	Dir string

	name    string
	args    []string
	cred    *syscall.Credential
	stopSig syscall.Signal // asks the server to shut down at once
	pidFile string         // a file the server leaves behind when killed
	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd has exited
	ready   func() bool
}

// Freeze stops the server and every process it forked (SIGSTOP): the
// kernel still accepts connections, nothing answers them, on new and
// established connections alike. PostgreSQL's backends each run in a
// session of their own, so the group is not enough: the server is
// stopped first (no new child), then each descendant.
func (p *Proc) Freeze(t testing.TB) {
	t.Helper()
	if err := syscall.Kill(p.cmd.Process.Pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("freeze %s: %v", p.name, err)
	}
	for _, pid := range descendants(p.cmd.Process.Pid) {
		_ = syscall.Kill(pid, syscall.SIGSTOP)
	}
}

// Thaw resumes a frozen server and its children (SIGCONT).
func (p *Proc) Thaw(t testing.TB) {
	t.Helper()
	p.thaw()
}

func (p *Proc) thaw() {
	if p.cmd == nil {
		return
	}
	for _, pid := range descendants(p.cmd.Process.Pid) {
		_ = syscall.Kill(pid, syscall.SIGCONT)
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGCONT)
}

// descendants lists the processes below pid, read from /proc.
func descendants(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		if pp, err := strconv.Atoi(f[1]); err == nil {
			parent[child] = pp
		}
	}
	var out []int
	for c := range parent {
		for a := parent[c]; a > 1; a = parent[a] {
			if a == pid {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

// Stop shuts the server down at once (PostgreSQL's fast shutdown) and
// waits for it to exit: the backend is down, its port refuses
// connections.
func (p *Proc) Stop(t testing.TB) {
	t.Helper()
	if p.cmd == nil {
		return
	}
	p.thaw()
	_ = p.cmd.Process.Signal(p.stopSig)
	select {
	case <-p.done:
	case <-time.After(Patience):
		t.Errorf("%s did not stop within %s: killing it", p.name, Patience)
	}
	p.kill()
}

// Start starts the server again, on the same port and files, and waits
// until it accepts connections; it does nothing when the server runs.
func (p *Proc) Start(t testing.TB) {
	t.Helper()
	if p.cmd == nil {
		p.start(t)
	}
}

func (p *Proc) kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	pg := -p.cmd.Process.Pid
	kids := descendants(p.cmd.Process.Pid)
	p.thaw()
	_ = syscall.Kill(pg, syscall.SIGKILL)
	for _, pid := range kids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	<-p.done
	// Children reparented away from the group leader are in the group
	// still; make sure none outlives the test.
	for range 100 {
		if syscall.Kill(pg, 0) != nil {
			break
		}
		_ = syscall.Kill(pg, syscall.SIGKILL)
		time.Sleep(10 * time.Millisecond)
	}
	p.cmd = nil
}

func (p *Proc) start(t testing.TB) {
	t.Helper()
	if p.pidFile != "" {
		_ = os.Remove(p.pidFile) // left by a kill; ready() must not read it
	}
	cmd := exec.Command(p.name, p.args...)
	cmd.Dir = p.Dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
	log, err := os.OpenFile(filepath.Join(p.Dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	// Its own group, so that signals reach every process of the server
	// and nothing the terminal sends reaches it; killed with the test
	// process if that dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: p.cred}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.name, err)
	}
	p.cmd, p.done = cmd, make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(p.done)
	EventuallyWithin(t, Patience, p.name+" to accept connections", func() bool {
		if p.ready() {
			return true
		}
		select {
		case <-p.done:
			b, _ := os.ReadFile(filepath.Join(p.Dir, "server.log"))
			t.Fatalf("%s exited at start:\n%s", p.name, tail(b))
		default:
		}
		return false
	})
}

func tail(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}

// StartRedis starts a throw-away redis-server on a free loopback port,
// without persistence. It skips the test (fails under CI) when
// redis-server is not installed.
func StartRedis(t testing.TB) *Proc {
	t.Helper()
	bin := lookBin(t, "redis-server", "the redis-server package")
	dir := t.TempDir()
	port := freePort(t)
	p := &Proc{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Dir: dir, name: bin,
		args: []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--daemonize", "no", "--dir", dir, "--protected-mode", "no"}, stopSig: syscall.SIGTERM}
	p.ready = func() bool { return redisPing(p.Addr) }
	t.Cleanup(p.kill)
	p.start(t)
	return p
}

// redisPing reports whether a PING is answered.
func redisPing(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}

// PostgresBin returns the newest PostgreSQL server bin directory
// (/usr/lib/postgresql/N/bin), or skips the test (fails under CI).
func PostgresBin(t testing.TB) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) < pgVersion(dirs[j]) })
	if len(dirs) == 0 {
		if CI() {
			t.Fatal("no PostgreSQL server under /usr/lib/postgresql under CI: install the postgresql package")
		}
		t.Skip("no PostgreSQL server under /usr/lib/postgresql: PostgreSQL fault tests skipped")
	}
	return filepath.Dir(dirs[len(dirs)-1])
}

func pgVersion(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

// StartPostgres initialises and starts a throw-away PostgreSQL cluster on
// a free loopback port (trust authentication, no fsync) and returns it
// with the URL of its postgres database. As root it runs as the postgres
// user, as initdb demands. Initialising takes a few seconds: tests that
// need no fault share the test command's server instead
// (EnvPostgresURL).
func StartPostgres(t testing.TB) (*Proc, string) {
	t.Helper()
	bin := PostgresBin(t)
	dir, err := os.MkdirTemp("", "riskauth-pgfault-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			if CI() {
				t.Fatal("running as root without a postgres user: cannot run initdb")
			}
			t.Skip("running as root without a postgres user: PostgreSQL fault tests skipped")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
		"--no-locale", "--no-sync")
	initdb.Dir = dir
	initdb.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, tail(out))
	}
	port := freePort(t)
	p := &Proc{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Dir: dir, name: filepath.Join(bin, "postgres"), cred: cred,
		args: []string{"-D", data, "-p", strconv.Itoa(port), "-k", dir, "-c", "listen_addresses=127.0.0.1",
			"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"},
		stopSig: syscall.SIGINT, pidFile: filepath.Join(data, "postmaster.pid")}
	// postmaster.pid's eighth line is the server's state: "ready" once
	// it accepts connections.
	p.ready = func() bool {
		b, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
		if err != nil {
			return false
		}
		lines := strings.Split(string(b), "\n")
		return len(lines) >= 8 && strings.TrimSpace(lines[7]) == "ready"
	}
	t.Cleanup(p.kill)
	p.start(t)
	return p, fmt.Sprintf("postgres://postgres@%s/postgres?sslmode=disable", p.Addr)
}

// lookBin finds a server binary, or skips the test (fails under CI).
func lookBin(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if CI() {
			t.Fatalf("%s is missing under CI: install %s", name, pkg)
		}
		t.Skipf("%s not installed (%s): test skipped", name, pkg)
	}
	return p
}

// freePort returns a loopback port nothing listens on (as of now).
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
