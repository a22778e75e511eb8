package httpapi_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// formBrowser is a browser without JavaScript: it keeps every cookie
// (Secure ones too, which net/http's jar withholds over http), follows
// no redirect, and posts the forms as a browser does.
type formBrowser struct {
	t       *testing.T
	e       *env
	cookies map[string]string
	lang    string
	http    *http.Client
}

func (e *env) formBrowser(t *testing.T) *formBrowser {
	return &formBrowser{t: t, e: e, cookies: map[string]string{}, http: &http.Client{
		Timeout:       e.http.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (f *formBrowser) do(method, path string, form url.Values, hdr map[string]string) response {
	f.t.Helper()
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, f.e.url+path, rd)
	require.NoError(f.t, err)
	req.Header.Set("User-Agent", browserUA)
	if f.lang != "" {
		req.Header.Set("Accept-Language", f.lang)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", f.e.url)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	var cs []string
	for k, v := range f.cookies {
		cs = append(cs, k+"="+v)
	}
	if len(cs) > 0 {
		req.Header.Set("Cookie", strings.Join(cs, "; "))
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := f.http.Do(req)
	require.NoError(f.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(f.t, err)
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(f.cookies, c.Name)
			continue
		}
		f.cookies[c.Name] = c.Value
		f.e.auth.track(c.Value)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: raw}
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)"`)

// hidden are the hidden fields of the page's first form (id="form").
func hidden(t *testing.T, body []byte) url.Values {
	t.Helper()
	s := string(body)
	i := strings.Index(s, `id="form"`)
	require.GreaterOrEqual(t, i, 0, "no form in %s", s)
	s = s[i:]
	if j := strings.Index(s, "</form>"); j >= 0 {
		s = s[:j]
	}
	v := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(s, -1) {
		v.Set(m[1], htmlUnescape(m[2]))
	}
	return v
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">", "&#61;", "=").Replace(s)
}

// submit posts the page's main form with its hidden fields plus fields.
func (f *formBrowser) submit(page response, action string, fields map[string]string) response {
	f.t.Helper()
	v := hidden(f.t, page.body)
	for k, x := range fields {
		v.Set(k, x)
	}
	return f.do(http.MethodPost, action, v, nil)
}
