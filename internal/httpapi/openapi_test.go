package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/engine/risk"
	"github.com/riskauth/riskauth/internal/httpapi"
)

// loadDoc loads and validates the embedded OpenAPI 3.1 document.
// kin-openapi v0.153 reads 3.1 natively and validates 3.1 documents with its
// JSON Schema 2020-12 validator, so no version juggling is needed.
func loadDoc(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(httpapi.OpenAPIDocument())
	require.NoError(t, err)
	require.True(t, doc.IsOpenAPI31OrLater(), "the document is OpenAPI 3.1")
	require.NoError(t, doc.Validate(loader.Context))
	return doc
}

// Every route the app serves is in the document and every operation of the
// document is served. fiber registers HEAD beside each GET (New does the
// same); HEAD is implied by GET in HTTP and not listed in the document.
var fiberParam = regexp.MustCompile(`:([a-z_]+)`) // fiber's :name is OpenAPI's {name}

func TestOpenAPIRoutesMatchApp(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	e := newEnv(t, httpapi.Config{})

	var app, spec []string
	gets := map[string]bool{}
	for _, r := range e.srv.App().GetRoutes(true) {
		if r.Method == http.MethodGet {
			gets[r.Path] = true
		}
	}
	for _, r := range e.srv.App().GetRoutes(true) {
		if r.Method == http.MethodHead {
			assert.True(t, gets[r.Path], "HEAD %s without GET", r.Path)
			continue
		}
		app = append(app, r.Method+" "+fiberParam.ReplaceAllString(r.Path, "{$1}"))
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			spec = append(spec, method+" "+path)
		}
	}
	sort.Strings(app)
	sort.Strings(spec)
	assert.Equal(t, spec, app)
}

// The signals schema names every feature the rules package renders, with
// its JSON type, and nothing else (velocity counters are configuration, so
// the document describes them as a map).
func TestOpenAPISignalsMatchFeatures(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	signals := doc.Components.Schemas["Signals"].Value
	ft := reflect.TypeFor[risk.Features]()
	for i := range ft.NumField() {
		ns := ft.Field(i)
		nsName, _, _ := strings.Cut(ns.Tag.Get("json"), ",")
		nsSchema := signals.Properties[nsName]
		require.NotNil(t, nsSchema, "namespace %s", nsName)
		if ns.Type.Kind() != reflect.Struct || ns.Name == "Velocity" {
			continue
		}
		want := map[string]string{}
		for j := range ns.Type.NumField() {
			f := ns.Type.Field(j)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			want[name] = map[reflect.Kind]string{reflect.Bool: "boolean", reflect.Int: "integer", reflect.Float64: "number", reflect.String: "string"}[f.Type.Kind()]
			if !strings.Contains(opts, "omitempty") {
				assert.Contains(t, nsSchema.Value.Required, name, "%s.%s is always present", nsName, name)
			}
		}
		got := map[string]string{}
		for name, p := range nsSchema.Value.Properties {
			got[name] = p.Value.Type.Slice()[0]
		}
		assert.Equal(t, want, got, "namespace %s", nsName)
	}
}

// exchange is one request the conformance test sends.
type exchange struct {
	name         string
	method, path string
	body         string
	header       map[string]string
	status       int
	validRequest bool // the request itself must conform too
}

// Real responses of the real server validate against the document: status
// codes are documented for the operation, bodies match their schemas, and
// requests the server accepts are valid per the document.
func TestOpenAPIResponsesConform(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	e := newEnv(t, httpapi.Config{BodyLimit: 8 << 10})

	r := e.post("/v1/risk/evaluate", loginBody("u-doc", "203.0.113.50"))
	require.Equal(t, 200, r.status)
	id := r.json(t)["evaluation_id"].(string)

	exchanges := []exchange{
		{"evaluate", "POST", "/v1/risk/evaluate", loginBody("u-doc2", "203.0.113.51"), nil, 200, true},
		{"evaluate with reasons and evidence", "POST", "/v1/risk/evaluate",
			`{"event":"login","identifier":"x@example.com","ip":"2001:db8::5","user_agent":"python-requests/2.32","ja4":"t13d1516h2_8daaf6152771_02713d6af862","password":"pw"}`, nil, 200, true},
		{"evaluate minimal", "POST", "/v1/risk/evaluate", `{"event":"custom.check"}`, nil, 200, true},
		{"outcome", "POST", "/v1/risk/outcome", fmt.Sprintf(`{"evaluation_id":%q,"outcome":"success"}`, id), nil, 200, true},
		{"outcome label", "POST", "/v1/risk/outcome", fmt.Sprintf(`{"evaluation_id":%q,"outcome":"legit"}`, id), nil, 200, true},
		{"outcome duplicate", "POST", "/v1/risk/outcome", fmt.Sprintf(`{"evaluation_id":%q,"outcome":"failure"}`, id), nil, 409, true},
		{"outcome unknown", "POST", "/v1/risk/outcome", `{"evaluation_id":"0190d7a4-0000-7000-8000-000000000000","outcome":"success"}`, nil, 404, true},
		{"malformed", "POST", "/v1/risk/evaluate", `{"event":`, nil, 400, false},
		{"invalid", "POST", "/v1/risk/evaluate", `{"event":5,"device":{"screen_width":"x"}}`, nil, 422, false},
		{"outcome invalid", "POST", "/v1/risk/outcome", `{"outcome":"meh"}`, nil, 422, false},
		{"unauthorized", "POST", "/v1/risk/evaluate", `{"event":"login"}`, map[string]string{"Authorization": "Bearer wrong"}, 401, false},
		{"too large", "POST", "/v1/risk/evaluate", `{"event":"login","x":"` + strings.Repeat("x", 9<<10) + `"}`, nil, 413, false},
		{"compressed", "POST", "/v1/risk/evaluate", `{"event":"login"}`, map[string]string{"Content-Encoding": "gzip"}, 415, false},
		{"wrong method", "GET", "/v1/risk/evaluate", "", nil, 405, false},
		{"healthz", "GET", "/healthz", "", nil, 200, true},
		{"readyz", "GET", "/readyz", "", nil, 200, true},
		{"metrics", "GET", "/metrics", "", nil, 200, true},
		{"openapi", "GET", "/openapi.json", "", nil, 200, true},
	}
	for _, x := range exchanges {
		t.Run(x.name, func(t *testing.T) {
			var body io.Reader
			if x.body != "" {
				body = strings.NewReader(x.body)
			}
			var opts []reqOpt
			for k, v := range x.header {
				opts = append(opts, withHeader(k, v))
			}
			resp := e.do(x.method, x.path, body, opts...)
			require.Equal(t, x.status, resp.status, "body: %s", resp.body)
			validate(t, router, x, resp)
		})
	}

	t.Run("readyz not ready", func(t *testing.T) {
		require.NoError(t, e.store.Close())
		x := exchange{"readyz down", "GET", "/readyz", "", nil, 503, true}
		resp := e.get("/readyz")
		require.Equal(t, 503, resp.status)
		validate(t, router, x, resp)
	})
}

func validate(t *testing.T, router routers.Router, x exchange, resp response) {
	t.Helper()
	ctx := context.Background()
	req, err := http.NewRequest(x.method, "http://riskauth.test"+x.path, strings.NewReader(x.body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testKey)
	route, params, err := router.FindRoute(req)
	if x.status == http.StatusMethodNotAllowed {
		// No operation to validate against: the router agrees that the
		// method is not allowed, and the body is the error shape.
		require.Error(t, err)
		assert.Equal(t, "method_not_allowed", resp.errorCode(t))
		return
	}
	require.NoError(t, err)
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
	if x.validRequest {
		require.NoError(t, openapi3filter.ValidateRequest(ctx, in), "request %s", x.body)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 resp.status,
		Header:                 resp.header,
		Body:                   io.NopCloser(bytes.NewReader(resp.body)),
		Options:                &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true},
	}
	require.NoError(t, openapi3filter.ValidateResponse(ctx, out), "response %d %s", resp.status, resp.body)
	// The status code is documented explicitly, not only through "default".
	op := route.Operation
	assert.NotNil(t, op.Responses.Value(fmt.Sprint(resp.status)), "status %d undocumented for %s %s", resp.status, x.method, x.path)
	for _, h := range []string{"Cache-Control", "X-Content-Type-Options"} {
		assert.NotEmpty(t, resp.header.Get(h), h)
	}
	if !slices.Contains([]string{"/metrics"}, x.path) && !strings.HasPrefix(resp.header.Get("Content-Type"), "text/html") {
		assert.Equal(t, "application/json", resp.header.Get("Content-Type"))
	}
}

// The document rejects what the server rejects: a sample of invalid
// requests fail request validation too (the schema is not vacuous).
func TestOpenAPIRejectsInvalidRequests(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	for _, body := range []string{
		`{}`,
		`{"event":5}`,
		`{"event":"Log In"}`,
		`{"event":"login","attributes":{"a":1}}`,
		`{"event":"login","device":{"screen_width":-1}}`,
		`{"event":"login","device":{"screen_width":"x"}}`,
		`{"event":"login","user_id":"` + strings.Repeat("a", 300) + `"}`,
	} {
		req, err := http.NewRequest("POST", "http://riskauth.test/v1/risk/evaluate", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		route, params, err := router.FindRoute(req)
		require.NoError(t, err)
		err = openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		})
		assert.Error(t, err, body)
	}
}

// Response validation is not vacuous either: bodies that break the
// contract fail it.
func TestOpenAPIRejectsBrokenResponses(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	e := newEnv(t, httpapi.Config{})
	good := e.post("/v1/risk/evaluate", loginBody("u-broken", "203.0.113.60"))
	require.Equal(t, 200, good.status)
	for name, mutate := range map[string]func(string) string{
		"unknown decision":  func(s string) string { return strings.Replace(s, `"decision":"passwordless"`, `"decision":"maybe"`, 1) },
		"reasons null":      func(s string) string { return strings.Replace(s, `"reasons":[]`, `"reasons":null`, 1) },
		"no evaluation id":  func(s string) string { return strings.Replace(s, `"evaluation_id"`, `"evaluation"`, 1) },
		"signals namespace": func(s string) string { return strings.Replace(s, `"geo":{`, `"gone":{`, 1) },
	} {
		t.Run(name, func(t *testing.T) {
			body := mutate(string(good.body))
			require.NotEqual(t, string(good.body), body, "mutation applies")
			req, err := http.NewRequest("POST", "http://riskauth.test/v1/risk/evaluate", nil)
			require.NoError(t, err)
			route, params, err := router.FindRoute(req)
			require.NoError(t, err)
			err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
				RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
				Status:                 200, Header: good.header, Body: io.NopCloser(strings.NewReader(body)),
			})
			assert.Error(t, err)
		})
	}
	t.Run("error shape with an extra member", func(t *testing.T) {
		req, err := http.NewRequest("POST", "http://riskauth.test/v1/risk/evaluate", nil)
		require.NoError(t, err)
		route, params, err := router.FindRoute(req)
		require.NoError(t, err)
		err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
			Status:                 422, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(`{"error":{"code":"invalid_request","message":"m","stack":"x"}}`)),
		})
		assert.Error(t, err)
	})
}
