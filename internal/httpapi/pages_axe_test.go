package httpapi_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/internal/leaf/testenv"
)

// updateScreenshots rewrites docs/screenshots/*.png from the browser
// tests of the hosted pages:
//
//	go test ./internal/httpapi -run TestHostedPages -update-screenshots
var updateScreenshots = flag.Bool("update-screenshots", false, "write the hosted pages' screenshots to docs/screenshots")

// repoRoot is the repository's root, from this file's place in it.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// axeScript is axe-core (scripts/fetch-data.sh puts it into the
// git-ignored data cache). Missing, the test skips with the reason, or
// fails under CI.
func axeScript(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("RISKAUTH_DATA_DIR")
	if dir == "" {
		dir = filepath.Join(repoRoot(), ".cache", "data")
	}
	src, err := os.ReadFile(filepath.Join(dir, "axe.min.js"))
	if err != nil {
		if testenv.CI() {
			t.Fatalf("axe-core missing under CI (%v): scripts/fetch-data.sh fetches it", err)
		}
		t.Skipf("axe-core not fetched (%v): run scripts/fetch-data.sh (needs npm)", err)
	}
	return string(src)
}

// pagesBrowser is one headless Chromium for the hosted pages' tests,
// English unless a tab asks otherwise, with a phone-sized viewport that
// keeps the screenshots small.
type pagesBrowser struct {
	t       *testing.T
	browser context.Context
	axe     string
}

func newPagesBrowser(t *testing.T) *pagesBrowser {
	t.Helper()
	path := testenv.Chromium(t)
	axe := axeScript(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.Flag("hide-scrollbars", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	require.NoError(t, chromedp.Do(bctx), "start chromium")
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	return &pagesBrowser{t: t, browser: bctx, axe: axe}
}

// tab opens a tab (a fresh browser context: its own cookies and storage
// when isolated) with the Accept-Language lang, bounded in time.
func (b *pagesBrowser) tab(lang string, isolated bool) context.Context {
	b.t.Helper()
	var opts []chromedp.ContextOption
	if isolated {
		opts = append(opts, chromedp.WithNewBrowserContext())
	}
	tctx, cancelTab := chromedp.NewContext(b.browser, opts...)
	ctx, cancel := context.WithTimeout(tctx, 3*time.Minute)
	b.t.Cleanup(func() { cancel(); cancelTab() })
	require.NoError(b.t, chromedp.Do(ctx), "open a tab")
	_, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: 440, Height: 760, DeviceScaleFactor: 1})
	require.NoError(b.t, err)
	_, err = chromedp.Call(ctx, network.Enable, network.EnableParams{})
	require.NoError(b.t, err)
	_, err = chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": lang}})
	require.NoError(b.t, err)
	return ctx
}

// check runs axe-core on the tab's page and fails on any serious or
// critical violation; with -update-screenshots it also saves the page
// as docs/screenshots/NAME.png.
func (b *pagesBrowser) check(ctx context.Context, name string) {
	b.t.Helper()
	b.axeOnly(ctx, name)
	if *updateScreenshots {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		require.NoError(b.t, err)
		require.Less(b.t, len(png), 100<<10, "%s: keep screenshots under 100 KB", name)
		require.NoError(b.t, os.WriteFile(filepath.Join(repoRoot(), "docs", "screenshots", name+".png"), png, 0o644))
	}
}

// axeOnly is check without the screenshot: for pages too long to keep
// as one under 100 KB.
func (b *pagesBrowser) axeOnly(ctx context.Context, name string) {
	b.t.Helper()
	// Runtime.evaluate is not subject to the page's CSP: the test's
	// script runs although the page allows nonce scripts only.
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](b.axe+"\n;true"))
	require.NoError(b.t, err, "inject axe-core")
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`axe.run(document, {resultTypes: ["violations"]}).then(function (r) {
  return r.violations.filter(function (v) { return v.impact === "serious" || v.impact === "critical"; })
    .map(function (v) { return v.impact + " " + v.id + ": " + v.help + " at " + v.nodes.map(function (n) { return n.target.join(" "); }).join(", "); });
})`, chromedp.EvalAwaitPromise))
	require.NoError(b.t, err, "axe.run")
	require.Empty(b.t, violations, "%s: axe-core found serious or critical violations:\n%s", name, strings.Join(violations, "\n"))
}

// state waits for the page's body[data-state].
func state(want string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(`body[data-state="` + want + `"]`))
}
