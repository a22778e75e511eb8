package backtest_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"github.com/riskauth/riskauth/rules/backtest"
)

// newChromium starts a headless Chromium for the test and returns a tab
// context bounded in time (as internal/httpapi's browser tests do).
func newChromium(t *testing.T) context.Context {
	t.Helper()
	path := testenv.Chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // tests run as root in containers
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	require.NoError(t, chromedp.Do(bctx), "start chromium")
	ctx, cancelTimeout := context.WithTimeout(bctx, 60*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelBrowser(); cancelAlloc() })
	return ctx
}

// chartStats is what the page reports about its charts.
type chartStats struct {
	Charts  int      `json:"charts"`
	Bars    []int    `json:"bars"`    // bars with a drawn (non-zero) box, per chart
	Widths  []int    `json:"widths"`  // rendered width of each chart
	Scripts int      `json:"scripts"` // script elements: must be none
	Titles  []string `json:"titles"`
	Changed string   `json:"changed"`
}

// TestHTMLInBrowser opens the report from a file:// URL in a real browser
// and checks that each chart rendered bars, the page has no script and the
// console stayed clean (a Content-Security-Policy violation or a failed
// load would show there).
func TestHTMLInBrowser(t *testing.T) {
	testenv.Chromium(t)
	rep := run(t, jsonl(t, 0, true), "candidate.yaml", backtest.Options{Baseline: loadRules(t, "baseline.yaml")})
	var page bytes.Buffer
	require.NoError(t, backtest.WriteHTML(&page, rep))
	path := filepath.Join(t.TempDir(), "report.html")
	require.NoError(t, os.WriteFile(path, page.Bytes(), 0o644))

	ctx := newChromium(t)
	var (
		mu       sync.Mutex
		messages []string
		done     = make(chan struct{})
	)
	const marker = "backtest-test-end"
	console := chromedp.Console(ctx)
	go func() {
		defer close(done)
		for m, err := range console {
			if err != nil {
				return
			}
			if m.Text == marker {
				return
			}
			mu.Lock()
			messages = append(messages, m.String())
			mu.Unlock()
		}
	}()

	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("file://"+path), chromedp.WaitVisible(chromedp.CSS("svg.chart"))))
	stats, err := chromedp.Run(ctx, chromedp.Evaluate[chartStats](`(() => {
		const charts = [...document.querySelectorAll("svg.chart")];
		return {
			charts: charts.length,
			bars: charts.map(c => [...c.querySelectorAll("rect.bar")].filter(r => {
				const b = r.getBBox();
				return b.width > 0 && b.height > 0;
			}).length),
			widths: charts.map(c => Math.round(c.getBoundingClientRect().width)),
			scripts: document.querySelectorAll("script").length,
			titles: charts.map(c => c.querySelector("title").textContent),
			changed: document.getElementById("changed").textContent,
		};
	})()`))
	require.NoError(t, err)
	require.Equal(t, 3, stats.Charts, "decision mix, score histogram, rule hits")
	for i, n := range stats.Bars {
		require.Positive(t, n, "chart %q has drawn bars", stats.Titles[i])
		require.Positive(t, stats.Widths[i], "chart %q is laid out", stats.Titles[i])
	}
	require.Zero(t, stats.Scripts)
	require.Equal(t, "23", strings.TrimSpace(stats.Changed))

	_, err = chromedp.Run(ctx, chromedp.Evaluate[any](`console.log("`+marker+`")`))
	require.NoError(t, err)
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("console marker never arrived")
	}
	mu.Lock()
	defer mu.Unlock()
	require.Empty(t, messages, "the page logs nothing: no error, no blocked resource")
}
