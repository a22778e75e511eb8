package breached

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
)

// Padding bounds of RangeHandler: with Add-Padding, responses are filled
// with zero-count lines up to a random length in this range (as the
// public API does), so their size does not reveal the prefix.
const (
	padMinLines = 800
	padMaxLines = 1000
)

// RangeHandler serves the k-anonymity range API from a local Table:
// GET {mount}/range/{prefix} with prefix 5 hex digits, answering lines
// SUFFIX:COUNT with TableSuffixHexDigits (10) hex digits of suffix, CRLF
// terminated, uppercase, the same shape as the public API except for the
// shorter suffix (see the package doc). The riskauth route is
// /v1/breached/range/{prefix}. Nothing about requests is logged.
type RangeHandler struct {
	t *Table
}

var _ http.Handler = (*RangeHandler)(nil)

// NewRangeHandler returns a handler answering from t.
func NewRangeHandler(t *Table) *RangeHandler { return &RangeHandler{t: t} }

// ServeHTTP implements http.Handler. The prefix is the path value "prefix"
// when the route pattern names one, else the last path segment, so the
// handler works behind any router or adaptor.
func (h *RangeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "use GET")
		return
	}
	p := r.PathValue("prefix")
	if p == "" {
		p = r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	}
	prefix, ok := parsePrefix(p)
	if !ok {
		writeError(w, http.StatusBadRequest, "invalid_prefix", "the hash prefix must be 5 hex digits")
		return
	}
	var buf bytes.Buffer
	buf.Grow(padMaxLines * 20)
	lines := 0
	var line [TableSuffixHexDigits + 1 + 20 + 2]byte
	h.t.Range(prefix, func(suffix uint64, count uint32) {
		buf.Write(appendRangeLine(line[:0], suffix, count))
		lines++
	})
	if strings.EqualFold(r.Header.Get("Add-Padding"), "true") {
		target := padMinLines + rand.IntN(padMaxLines-padMinLines+1)
		for ; lines < target; lines++ {
			buf.Write(appendRangeLine(line[:0], rand.Uint64()&suffixMask, 0))
		}
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("Content-Length", strconv.Itoa(buf.Len()))
	hdr.Set("Vary", "Add-Padding")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(buf.Bytes())
	}
}

func appendRangeLine(b []byte, suffix uint64, count uint32) []byte {
	for i := TableSuffixHexDigits - 1; i >= 0; i-- {
		b = append(b, upperHex[suffix>>(4*uint(i))&0xf])
	}
	b = append(b, ':')
	b = strconv.AppendUint(b, uint64(count), 10)
	return append(b, '\r', '\n')
}

func parsePrefix(s string) (uint32, bool) {
	if len(s) != 5 {
		return 0, false
	}
	var p uint32
	for i := 0; i < 5; i++ {
		v := unhexTable[s[i]]
		if v > 0x0f {
			return 0, false
		}
		p = p<<4 | uint32(v)
	}
	return p, true
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	type body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	var b body
	b.Error.Code, b.Error.Message = code, msg
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(b)
}
