package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"time"

	"github.com/riskauth/riskauth/cmd/internal/loadgen"
	"github.com/riskauth/riskauth/cmd/risksim/internal/simulate"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "risksim:", err)
		}
		os.Exit(2)
	}
}

// defaultGeoDir is the real-data cache scripts/fetch-data.sh fills, as the
// geo tests find it: $RISKAUTH_DATA_DIR, else .cache/data.
func defaultGeoDir() string {
	if d := os.Getenv("RISKAUTH_DATA_DIR"); d != "" {
		return d
	}
	return filepath.Join(".cache", "data")
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("risksim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg simulate.Config
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed: the same seed gives the same report")
	fs.IntVar(&cfg.Users, "users", 10_000, "number of simulated users")
	fs.IntVar(&cfg.Logins, "logins", 0, "legitimate sign-ins (default 20 per user)")
	fs.IntVar(&cfg.Weeks, "weeks", 12, "simulated weeks")
	fs.IntVar(&cfg.Attacks, "attacks", 0, "account-takeover attempts per attacker model (default logins/500, at least 100)")
	fs.IntVar(&cfg.StuffingWaves, "stuffing", 0, "credential-stuffing waves (default logins/100k, at least 2)")
	fs.IntVar(&cfg.SprayingWaves, "spraying", 0, "password-spraying waves (default logins/100k, at least 2)")
	fs.StringVar(&cfg.RulesPath, "rules", "", "rule file (default: the embedded default rules)")
	fs.StringVar(&cfg.GeoDir, "geo", defaultGeoDir(), "real GeoLite2 cache (scripts/fetch-data.sh); the bundled fixture when absent")
	fs.Float64Var(&cfg.FamiliarityThreshold, "familiarity", simulate.DefaultFamiliarityThreshold, "familiarity score above which the familiarity model re-authenticates")
	fs.StringVar(&cfg.ReplayJA4, "replay-ja4", simulate.ReplayJA4Chromium, "TLS stack of the cookie-replaying browser: chromium (an anti-detect browser's own) or copied (the replayed device's)")
	diurnal := fs.Bool("diurnal", true, "sign-ins follow a time-of-day cycle in local time (false: uniform over the day, as before issue 24's cycle)")
	emailDomains := fs.Bool("email-domains", true, "give users email domains, some of them their employer's (false: none, as before)")
	htmlOut := fs.String("html", "", "write the HTML report (tables and SVG charts) to this file")
	jsonOut := fs.String("json", "", "write the JSON report to this file")
	quiet := fs.Bool("q", false, "no progress line")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	cfg.FlatDay, cfg.NoEmailDomains = !*diurnal, !*emailDomains
	cfg = cfg.Defaults()
	if *cpuProfile != "" {
		stopProfile, err := loadgen.StartCPUProfile(*cpuProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer stopProfile()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()

	geoNote := "bundled fixture"
	if simulate.HasRealData(cfg.GeoDir) {
		geoNote = "real data in " + cfg.GeoDir
	}
	fmt.Fprintf(stdout, "risksim: seed %d, %d users, %d logins, %d weeks, %d takeover attempts per model, %d stuffing + %d spraying waves\n",
		cfg.Seed, cfg.Users, cfg.Logins, cfg.Weeks, cfg.Attacks, cfg.StuffingWaves, cfg.SprayingWaves)
	fmt.Fprintf(stdout, "risksim: rules %q, geo %s, familiarity threshold %g, GOMAXPROCS %d (replay is sequential for determinism)\n",
		cfg.RulesPath, geoNote, cfg.FamiliarityThreshold, runtime.GOMAXPROCS(0))

	t0 := time.Now()
	sim, err := simulate.New(cfg)
	if err != nil {
		return err
	}
	defer sim.Close()
	a := sim.Atlas()
	fmt.Fprintf(stdout, "risksim: prepared in %s: %d of %d networks kept, %d attempts scheduled\n",
		time.Since(t0).Round(time.Millisecond), a.Kept, a.Seen, sim.Evaluations())

	t1 := time.Now()
	var progress func(done, total int)
	if !*quiet {
		progress = func(done, total int) {
			el := time.Since(t1).Seconds()
			fmt.Fprintf(stderr, "\rrisksim: %d/%d attempts (%.0f%%), %.0f/s ", done, total, 100*float64(done)/float64(max(total, 1)), float64(done)/max(el, 1e-3))
			if done == total {
				fmt.Fprintln(stderr)
			}
		}
	}
	rep, err := sim.Run(ctx, progress)
	if err != nil {
		return err
	}
	el := time.Since(t1)
	fmt.Fprintf(stdout, "risksim: replayed %d evaluations in %s (%.0f/s)\n\n", rep.Totals.Evaluations, el.Round(time.Millisecond),
		float64(rep.Totals.Evaluations)/el.Seconds())
	if err := rep.WriteText(stdout); err != nil {
		return err
	}
	write := func(path string, f func(io.Writer) error) error {
		if path == "" {
			return nil
		}
		out, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		if err := f(out); err != nil {
			out.Close()
			return err
		}
		if err := out.Close(); err != nil {
			return fmt.Errorf("report: %w", err)
		}
		fmt.Fprintf(stdout, "risksim: wrote %s\n", path)
		return nil
	}
	if err := write(*jsonOut, rep.WriteJSON); err != nil {
		return err
	}
	return write(*htmlOut, rep.WriteHTML)
}
