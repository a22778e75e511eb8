package config

import (
	"errors"
	"fmt"
	"net"

	"github.com/riskauth/riskauth/internal/httpapi"
)

// validateMetrics checks who may read /metrics: a listen address of its
// own, a token long enough to stand on its own (the route is not rate
// limited), and in production at least one of the two.
func (c *Config) validateMetrics() []error {
	var errs []error
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("metrics_addr %q: want host:port", c.MetricsAddr))
		} else if c.MetricsAddr == c.Addr {
			errs = append(errs, fmt.Errorf("metrics_addr %q: must differ from addr", c.MetricsAddr))
		}
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < httpapi.MinMetricsTokenLen {
		// The token itself is never echoed.
		errs = append(errs, fmt.Errorf("RISKAUTH_METRICS_TOKEN (metrics_token): want at least %d characters", httpapi.MinMetricsTokenLen))
	}
	if c.Production() && c.MetricsAddr == "" && c.MetricsToken == "" {
		errs = append(errs, errors.New("production requires RISKAUTH_METRICS_ADDR (metrics_addr) or RISKAUTH_METRICS_TOKEN (metrics_token): /metrics must not be open to everyone who reaches the port"))
	}
	return errs
}

// Metrics is what the HTTP server needs of the settings above.
func (c *Config) Metrics() httpapi.MetricsConfig {
	return httpapi.MetricsConfig{Separate: c.MetricsAddr != "", Token: c.MetricsToken}
}
