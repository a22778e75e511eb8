package wire

import (
	"strings"
)

// The evaluate body has a fast path. Validating (UTF-8, then strict JSON),
// parsing into fastjson values and reading them back field by field cost
// three passes over the body and some twenty allocations per request,
// the largest part of the decoding time under load. scanEvaluate makes
// one strict pass instead: it checks the grammar and UTF-8 as it goes and
// records where each field's value lies in the body, then copies those
// values out, most of them into one allocation (fill).
//
// It is only a fast path. It gives up, and decodeEvaluate takes the
// general path (parseObject, read), on anything it does not decide
// cheaply and exactly as that path would: malformed or deeply nested
// JSON, a body that is no object, a value of the wrong type, an escape
// sequence in a key or a value it keeps, a number the general path would
// refuse (even one a duplicate member replaces), a list longer than it
// holds. So every error, and its message, still comes from one place;
// FuzzScanMatchesParse checks that whatever the fast path accepts, the
// general path accepts too and decodes to the same event.

// scanLists is how many languages and attributes the fast path holds;
// longer lists, rare, take the general path. The lists are arrays, not
// slices, so that a scan allocates nothing.
const scanLists = 16

// attrSpan is one attributes member.
type attrSpan struct{ key, val span }

// deviceSpans is the scanned device descriptor; its numbers are parsed as
// they are scanned (see scanner.integer).
type deviceSpans struct {
	present                                                    bool
	cookieID, platform, timezone, canvas, webglHash, webglRend span
	width, height, depth, concurrency, touch                   int
	ratio, memory                                              float64
	// hasLanguages tells an (even empty) languages array from an absent
	// or null one, as the general path does (nil versus empty slice).
	hasLanguages bool
	nLangs       int
	langs        [scanLists]span
}

// evaluateSpans is a scanned evaluate body.
type evaluateSpans struct {
	event, userID, identifier, ip, userAgent, ja4, password span
	device                                                  deviceSpans
	hasAttributes                                           bool
	nAttrs                                                  int
	attrs                                                   [scanLists]attrSpan
}

// scanEvaluate scans body into r; false: take the general path.
func scanEvaluate(body []byte, r *evaluateSpans) bool {
	s := scanner{b: body}
	ok := s.object(func(k span) bool {
		switch string(body[k.off:k.end]) {
		case "event":
			return s.text(&r.event)
		case "user_id":
			return s.text(&r.userID)
		case "identifier":
			return s.text(&r.identifier)
		case "ip":
			return s.text(&r.ip)
		case "user_agent":
			return s.text(&r.userAgent)
		case "ja4":
			return s.text(&r.ja4)
		case "password":
			return s.text(&r.password)
		case "device":
			// A repeated member replaces the earlier one entirely.
			r.device = deviceSpans{}
			if s.null() {
				return true
			}
			r.device.present = true
			return s.device(&r.device)
		case "attributes":
			r.hasAttributes, r.nAttrs = false, 0
			if s.null() {
				return true
			}
			r.hasAttributes = true
			return s.object(func(k span) bool {
				if r.nAttrs == len(r.attrs) {
					return false
				}
				a := &r.attrs[r.nAttrs]
				r.nAttrs++
				a.key = k
				return s.text(&a.val)
			})
		}
		return s.skipValue()
	})
	s.ws()
	return ok && s.i == len(body)
}

// device scans a device descriptor object.
func (s *scanner) device(d *deviceSpans) bool {
	return s.object(func(k span) bool {
		switch string(s.b[k.off:k.end]) {
		case "cookie_id":
			return s.text(&d.cookieID)
		case "platform":
			return s.text(&d.platform)
		case "timezone":
			return s.text(&d.timezone)
		case "canvas_hash":
			return s.text(&d.canvas)
		case "webgl_hash":
			return s.text(&d.webglHash)
		case "webgl_renderer":
			return s.text(&d.webglRend)
		case "screen_width":
			return s.integer(&d.width)
		case "screen_height":
			return s.integer(&d.height)
		case "color_depth":
			return s.integer(&d.depth)
		case "pixel_ratio":
			return s.float(&d.ratio)
		case "hardware_concurrency":
			return s.integer(&d.concurrency)
		case "device_memory":
			return s.float(&d.memory)
		case "touch_points":
			return s.integer(&d.touch)
		case "languages":
			d.hasLanguages, d.nLangs = false, 0
			if s.null() {
				return true
			}
			if !s.expect('[') {
				return false
			}
			d.hasLanguages = true
			if s.peek() == ']' {
				s.i++
				return true
			}
			for {
				if d.nLangs == len(d.langs) || !s.text(&d.langs[d.nLangs]) {
					return false
				}
				d.nLangs++
				switch s.peek() {
				case ',':
					s.i++
				case ']':
					s.i++
					return true
				default:
					return false
				}
			}
		}
		return s.skipValue()
	})
}

// fill sets req and dev (the device, which the caller links when
// r.device.present, so that dev can stay on its stack) from the scanned
// body. The strings share one allocation, in the order they are taken
// here, but for two: the user id, which the engine keeps as a cache key
// (the profile cache) long after the request, and which would keep the
// whole shared buffer alive with it; and the password, which no string
// that outlives the request may hold in memory.
func (r *evaluateSpans) fill(body []byte, req *evaluateRequest, dev *deviceRequest) {
	d := &r.device
	langs, attrs := d.langs[:d.nLangs], r.attrs[:r.nAttrs]
	strs := [...]*span{&r.event, &r.identifier, &r.ip, &r.userAgent, &r.ja4,
		&d.cookieID, &d.platform, &d.timezone, &d.canvas, &d.webglHash, &d.webglRend}
	n := 0
	for _, sp := range strs {
		n += sp.len()
	}
	for _, l := range langs {
		n += l.len()
	}
	for _, a := range attrs {
		n += a.key.len() + a.val.len()
	}
	var sb strings.Builder
	sb.Grow(n)
	for _, sp := range strs {
		sb.Write(body[sp.off:sp.end])
	}
	for _, l := range langs {
		sb.Write(body[l.off:l.end])
	}
	for _, a := range attrs {
		sb.Write(body[a.key.off:a.key.end])
		sb.Write(body[a.val.off:a.val.end])
	}
	all, at := sb.String(), 0
	next := func(sp span) string {
		v := all[at : at+sp.len()]
		at += sp.len()
		return v
	}
	req.Event, req.Identifier = next(r.event), next(r.identifier)
	req.IP, req.UserAgent, req.JA4 = next(r.ip), next(r.userAgent), next(r.ja4)
	req.UserID = string(body[r.userID.off:r.userID.end])
	req.Password = string(body[r.password.off:r.password.end])
	dev.CookieID, dev.Platform, dev.Timezone = next(d.cookieID), next(d.platform), next(d.timezone)
	dev.CanvasHash, dev.WebGLHash, dev.WebGLRenderer = next(d.canvas), next(d.webglHash), next(d.webglRend)
	dev.ScreenWidth, dev.ScreenHeight, dev.ColorDepth = d.width, d.height, d.depth
	dev.PixelRatio, dev.HardwareConcurrency = d.ratio, d.concurrency
	dev.DeviceMemory, dev.TouchPoints = d.memory, d.touch
	if d.hasLanguages {
		dev.Languages = make([]string, len(langs))
		for i, l := range langs {
			dev.Languages[i] = next(l)
		}
	}
	if r.hasAttributes {
		req.Attributes = make(map[string]string, len(attrs))
		for _, a := range attrs {
			k := next(a.key)
			req.Attributes[k] = next(a.val)
		}
	}
}
