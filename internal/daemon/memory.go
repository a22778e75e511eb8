package daemon

import (
	"log/slog"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riskauth/riskauth/signals/standard"
)

// ApplyMemoryLimit sets the Go runtime's soft memory limit to the budget's
// GoLimit, unless the GOMEMLIMIT variable (getenv reads it) set one: the Go
// runtime has applied that already, and an operator who set it meant it.
// Under the limit the garbage collector runs more often as the heap
// nears it instead of letting it grow GOGC-fold (riskauthd's GOGC of 400
// alone let a risk-API soak reach 1.5 GB), so that the process stays
// within memory_limit while the tables' caps keep its live data at about
// half of it. It returns the limit in force and logs the plan.
func ApplyMemoryLimit(plan standard.MemoryPlan, getenv func(string) string, log *slog.Logger) int64 {
	limit, source := debug.SetMemoryLimit(-1), "GOMEMLIMIT"
	if getenv("GOMEMLIMIT") == "" {
		limit, source = int64(plan.GoLimit), "memory_limit"
		debug.SetMemoryLimit(limit)
	}
	log.Info("memory budget", "memory_limit", plan.Limit.String(), "go_memory_limit", standard.Bytes(limit).String(),
		"go_memory_limit_from", source, "max_keys", plan.MaxKeys, "max_pending", plan.MaxPending,
		"profile_cache", plan.ProfileCache, "user_agent_cache", plan.UserAgentCache)
	return limit
}

// memoryLimitGauge is riskauth_memory_limit_bytes, the configured budget,
// so that an alert compares process_resident_memory_bytes with it (the Go
// runtime's go_gc_gomemlimit_bytes is only 7/8 of it, or GOMEMLIMIT's).
func memoryLimitGauge(plan standard.MemoryPlan) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "riskauth_memory_limit_bytes",
		Help: "The process's memory budget (memory_limit): what its resident memory should stay under.",
	}, func() float64 { return float64(plan.Limit) })
}
