package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// probeTimeout bounds one probe: longer than /readyz's own 2 s deadline,
// shorter than the 3 s timeouts the deploy files give the health check.
const probeTimeout = 2500 * time.Millisecond

// probe is `riskauthd -probe URL`: the container image has no shell and no
// curl, so a compose or Docker health check runs the binary itself. It
// succeeds on a 2xx answer from a loopback URL and fails on anything else
// within probeTimeout; the URL must be loopback so that the flag cannot be
// turned into a request to another host.
func probe(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || !loopbackHost(u.Hostname()) {
		return fmt.Errorf("probe: want an http URL on 127.0.0.1, [::1] or localhost, got %q", raw)
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("probe: %s answered %d: %s", u, resp.StatusCode, body)
	}
	return nil
}

func loopbackHost(h string) bool {
	return h == "127.0.0.1" || h == "::1" || h == "localhost"
}
