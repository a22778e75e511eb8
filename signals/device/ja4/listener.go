package ja4

import (
	"crypto/tls"
	"net"
	"sync/atomic"
)

// Conn is an accepted connection that remembers its ClientHello's JA4.
// The TLS handshake (GetConfigForClient, see Config) writes it once; a
// request handler reads it with Of. An atomic, not a field under the
// connection's goroutine: crypto/tls may run the handshake from whichever
// goroutine first reads or writes.
type Conn struct {
	net.Conn
	ja4 atomic.Pointer[string]
}

// JA4 returns the connection's fingerprint, "" before the handshake or
// when the connection did not go through Config.
func (c *Conn) JA4() string {
	if p := c.ja4.Load(); p != nil {
		return *p
	}
	return ""
}

// listener wraps each accepted connection in a Conn.
type listener struct{ net.Listener }

// Listener wraps ln so that each connection it accepts can carry its JA4;
// serve it through tls.NewListener with a Config from Config.
func Listener(ln net.Listener) net.Listener { return listener{ln} }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &Conn{Conn: c}, nil
}

// Config returns a copy of base whose GetConfigForClient records each
// ClientHello's JA4 on its Conn before calling base's own
// GetConfigForClient, if any.
func Config(base *tls.Config) *tls.Config {
	cfg := base.Clone()
	next := base.GetConfigForClient
	cfg.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		if c, ok := h.Conn.(*Conn); ok {
			fp := FromClientHello(h)
			c.ja4.Store(&fp)
		}
		if next != nil {
			return next(h)
		}
		return nil, nil
	}
	return cfg
}

// Of returns the JA4 of a request's connection: a *tls.Conn over a Conn
// (or the Conn itself); "" for any other connection (plain HTTP, TLS
// terminated elsewhere).
func Of(c net.Conn) string {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if jc, ok := c.(*Conn); ok {
		return jc.JA4()
	}
	return ""
}
