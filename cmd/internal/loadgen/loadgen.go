// Package loadgen holds what the bounded load commands (cmd/riskload,
// cmd/authload) share besides their latency histogram: running the server
// under test in a child process of the same binary, and CPU profiles.
//
// It is not a load generator; traffic and reports stay with each command.
package loadgen

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/pprof"
	"strings"
	"time"
)

// Child is a server running in a child process of this binary. The child
// serves until its stdin closes, so it cannot outlive the parent.
type Child struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stdout  *bufio.Reader
	timeout time.Duration
}

// Spawn starts this binary with args and env appended to the parent's
// environment; the child's stderr is the parent's. stopAfter bounds Stop's
// wait before the child is killed.
func Spawn(args, env []string, stopAfter time.Duration) (*Child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &Child{cmd: cmd, stdin: stdin, stdout: bufio.NewReader(stdout), timeout: stopAfter}, nil
}

// Stdin is the child's standard input, for its configuration.
func (c *Child) Stdin() io.Writer { return c.stdin }

// Ready reads the one line the child prints once it listens and returns
// its fields; it stops the child when the line is missing or has fewer
// than min fields.
func (c *Child) Ready(min int) ([]string, error) {
	line, err := c.stdout.ReadString('\n')
	parts := strings.Fields(line)
	if err != nil || len(parts) < min {
		c.Stop()
		return nil, fmt.Errorf("spawned server: %q, %v", line, err)
	}
	return parts, nil
}

// Pid is the child's process id, for reading its CPU time.
func (c *Child) Pid() int { return c.cmd.Process.Pid }

// Stop closes the child's stdin, which makes it exit, and waits for it;
// a child still running after the stop timeout is killed.
func (c *Child) Stop() {
	_ = c.stdin.Close()
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(c.timeout):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

// StartCPUProfile writes a CPU profile of this process to path until the
// returned function is called.
func StartCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}
