package wire

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/valyala/fastjson"

	"github.com/riskauth/riskauth/engine"
)

// DecodeEvaluate decodes and validates the body of POST /v1/risk/evaluate
// into an event, reporting every problem at once in one *Error: a
// malformed body as CodeMalformedJSON, fields of the wrong type or
// invalid as CodeInvalidRequest. The event's IP is left zero when the body
// has none (the handler then takes the connection's).
//
// A typical body takes a one-pass fast path that allocates a few times
// (evaluate_scan.go); anything unusual, and every error, takes the general
// path (decode.go).
func (d *Decoder) DecodeEvaluate(body []byte) (engine.Event, error) {
	ev, err := decodeEvaluate(&d.parsers, body)
	if err != nil {
		return engine.Event{}, err
	}
	return ev, nil
}

// evaluateRequest is the body of POST /v1/risk/evaluate.
type evaluateRequest struct {
	Event      string            `json:"event"`
	UserID     string            `json:"user_id,omitempty"`
	Identifier string            `json:"identifier,omitempty"`
	IP         string            `json:"ip,omitempty"`
	UserAgent  string            `json:"user_agent,omitempty"`
	Device     *deviceRequest    `json:"device,omitempty"`
	JA4        string            `json:"ja4,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
	// Password is only handed to the breached-password signal; it is never
	// logged, stored or echoed.
	Password string `json:"password,omitempty"`
}

// deviceRequest is the device descriptor on the wire; it mirrors
// engine.DeviceDescriptor field by field (a test keeps them in step).
type deviceRequest struct {
	CookieID            string   `json:"cookie_id,omitempty"`
	Platform            string   `json:"platform,omitempty"`
	Languages           []string `json:"languages,omitempty"`
	Timezone            string   `json:"timezone,omitempty"`
	ScreenWidth         int      `json:"screen_width,omitempty"`
	ScreenHeight        int      `json:"screen_height,omitempty"`
	ColorDepth          int      `json:"color_depth,omitempty"`
	PixelRatio          float64  `json:"pixel_ratio,omitempty"`
	HardwareConcurrency int      `json:"hardware_concurrency,omitempty"`
	DeviceMemory        float64  `json:"device_memory,omitempty"`
	CanvasHash          string   `json:"canvas_hash,omitempty"`
	WebGLHash           string   `json:"webgl_hash,omitempty"`
	WebGLRenderer       string   `json:"webgl_renderer,omitempty"`
	TouchPoints         int      `json:"touch_points,omitempty"`
}

// Limits on device descriptor values (the engine bounds the other fields).
const (
	maxDeviceString = 512
	maxLanguages    = 32
	maxLanguageLen  = 64
	maxDeviceNumber = 1 << 20
)

// decodeEvaluate decodes and validates an evaluate body into an event,
// reporting every problem at once. The IP is left zero when the body has
// none.
func decodeEvaluate(pp *fastjson.ParserPool, body []byte) (engine.Event, *Error) {
	var (
		req evaluateRequest
		fs  fieldErrors
		sc  evaluateSpans
		dev deviceRequest
		// device is req.Device, kept apart so that the fast path's dev can
		// stay on the stack (escape analysis follows req as a whole).
		device *deviceRequest
	)
	if scanEvaluate(body, &sc) {
		sc.fill(body, &req, &dev)
		if sc.device.present {
			device = &dev
		}
	} else {
		// The general path: it decides every body the fast path does not,
		// and gives every error.
		var perr *Error
		if req, fs, perr = parseEvaluate(pp, body); perr != nil {
			return engine.Event{}, perr
		}
		device = req.Device
	}
	if req.Event == "" && !fs.has("event") {
		fs.add("event", "required")
	}
	fs.checkString("event", req.Event, 0)
	fs.checkString("user_id", req.UserID, 0)
	fs.checkString("identifier", req.Identifier, 0)
	fs.checkString("user_agent", req.UserAgent, 0)
	fs.checkString("ja4", req.JA4, 0)
	fs.checkString("password", req.Password, 0)
	ev := engine.Event{
		Kind:       req.Event,
		UserID:     req.UserID,
		Identifier: req.Identifier,
		UserAgent:  req.UserAgent,
		JA4:        req.JA4,
		Password:   req.Password,
	}
	if req.IP != "" {
		ev.IP = fs.ip("ip", req.IP)
	}
	if len(req.Attributes) > 0 {
		ev.Attributes = req.Attributes
		if len(req.Attributes) <= engine.MaxAttributes {
			var bad []string
			for k, v := range req.Attributes {
				if strings.IndexByte(k, 0) >= 0 || strings.IndexByte(v, 0) >= 0 {
					bad = append(bad, k)
				}
			}
			slices.Sort(bad)
			for _, k := range bad {
				fs.add("attributes."+k, "must not contain NUL bytes")
			}
		}
	}
	if device != nil {
		ev.Device = device.descriptor(&fs)
	}
	if len(fs) == 0 {
		// The engine validates the event too and its errors become a 422:
		// validating here as well would only cost time.
		return ev, nil
	}
	var ve *engine.ValidationError
	if errors.As(ev.Validate(), &ve) { // one 422 that lists every problem
		for _, f := range ve.Fields {
			fs.add(f.Field, f.Message)
		}
	}
	return engine.Event{}, invalid(fs)
}

// parseEvaluate reads body with the general decoder (parseObject).
func parseEvaluate(pp *fastjson.ParserPool, body []byte) (evaluateRequest, fieldErrors, *Error) {
	var req evaluateRequest
	fs, perr := parseObject(pp, body, func(o *fastjson.Object, fs *fieldErrors) {
		if o != nil {
			req.read(o, fs)
		}
	})
	return req, fs, perr
}

// read fills the request from the parsed body, collecting type errors.
func (req *evaluateRequest) read(o *fastjson.Object, fs *fieldErrors) {
	o.Visit(func(k []byte, v *fastjson.Value) {
		switch string(k) {
		case "event":
			req.Event = fs.str("event", v)
		case "user_id":
			req.UserID = fs.str("user_id", v)
		case "identifier":
			req.Identifier = fs.str("identifier", v)
		case "ip":
			req.IP = fs.str("ip", v)
		case "user_agent":
			req.UserAgent = fs.str("user_agent", v)
		case "ja4":
			req.JA4 = fs.str("ja4", v)
		case "password":
			req.Password = fs.str("password", v)
		case "device":
			req.Device = nil
			if d := fs.object("device", "want an object", v); d != nil {
				req.Device = &deviceRequest{}
				req.Device.read(d, fs)
			}
		case "attributes":
			req.Attributes = fs.attributes("attributes", v)
		}
	})
}

// read fills the device from the parsed descriptor, collecting type errors.
func (d *deviceRequest) read(o *fastjson.Object, fs *fieldErrors) {
	o.Visit(func(k []byte, v *fastjson.Value) {
		switch string(k) {
		case "cookie_id":
			d.CookieID = fs.str("device.cookie_id", v)
		case "platform":
			d.Platform = fs.str("device.platform", v)
		case "languages":
			d.Languages = nil
			switch v.Type() {
			case fastjson.TypeArray:
				a, _ := v.Array()
				d.Languages = make([]string, 0, len(a))
				for _, x := range a {
					if x.Type() != fastjson.TypeString && x.Type() != fastjson.TypeNull {
						fs.add("device.languages", "want an array of strings")
						d.Languages = nil
						return
					}
					d.Languages = append(d.Languages, fs.str("device.languages", x))
				}
			case fastjson.TypeNull:
			default:
				fs.add("device.languages", "want an array of strings")
			}
		case "timezone":
			d.Timezone = fs.str("device.timezone", v)
		case "screen_width":
			d.ScreenWidth = fs.integer("device.screen_width", v)
		case "screen_height":
			d.ScreenHeight = fs.integer("device.screen_height", v)
		case "color_depth":
			d.ColorDepth = fs.integer("device.color_depth", v)
		case "pixel_ratio":
			d.PixelRatio = fs.number("device.pixel_ratio", v)
		case "hardware_concurrency":
			d.HardwareConcurrency = fs.integer("device.hardware_concurrency", v)
		case "device_memory":
			d.DeviceMemory = fs.number("device.device_memory", v)
		case "canvas_hash":
			d.CanvasHash = fs.str("device.canvas_hash", v)
		case "webgl_hash":
			d.WebGLHash = fs.str("device.webgl_hash", v)
		case "webgl_renderer":
			d.WebGLRenderer = fs.str("device.webgl_renderer", v)
		case "touch_points":
			d.TouchPoints = fs.integer("device.touch_points", v)
		}
	})
}

// descriptor validates the device and converts it.
func (d *deviceRequest) descriptor(fs *fieldErrors) *engine.DeviceDescriptor {
	fs.checkString("device.cookie_id", d.CookieID, maxDeviceString)
	fs.checkString("device.platform", d.Platform, maxDeviceString)
	fs.checkString("device.timezone", d.Timezone, maxDeviceString)
	fs.checkString("device.canvas_hash", d.CanvasHash, maxDeviceString)
	fs.checkString("device.webgl_hash", d.WebGLHash, maxDeviceString)
	fs.checkString("device.webgl_renderer", d.WebGLRenderer, maxDeviceString)
	if len(d.Languages) > maxLanguages {
		fs.add("device.languages", fmt.Sprintf("more than %d languages", maxLanguages))
	} else {
		for i, l := range d.Languages {
			if len(l) > maxLanguageLen || strings.IndexByte(l, 0) >= 0 {
				fs.checkString(fmt.Sprintf("device.languages[%d]", i), l, maxLanguageLen)
			}
		}
	}
	fs.deviceNumber("device.screen_width", float64(d.ScreenWidth))
	fs.deviceNumber("device.screen_height", float64(d.ScreenHeight))
	fs.deviceNumber("device.color_depth", float64(d.ColorDepth))
	fs.deviceNumber("device.pixel_ratio", d.PixelRatio)
	fs.deviceNumber("device.hardware_concurrency", float64(d.HardwareConcurrency))
	fs.deviceNumber("device.device_memory", d.DeviceMemory)
	fs.deviceNumber("device.touch_points", float64(d.TouchPoints))
	return &engine.DeviceDescriptor{
		CookieID:            d.CookieID,
		Platform:            d.Platform,
		Languages:           d.Languages,
		Timezone:            d.Timezone,
		ScreenWidth:         d.ScreenWidth,
		ScreenHeight:        d.ScreenHeight,
		ColorDepth:          d.ColorDepth,
		PixelRatio:          d.PixelRatio,
		HardwareConcurrency: d.HardwareConcurrency,
		DeviceMemory:        d.DeviceMemory,
		CanvasHash:          d.CanvasHash,
		WebGLHash:           d.WebGLHash,
		WebGLRenderer:       d.WebGLRenderer,
		TouchPoints:         d.TouchPoints,
	}
}

// deviceNumber checks that a device number is between 0 and maxDeviceNumber.
func (fs *fieldErrors) deviceNumber(field string, v float64) {
	if v < 0 || v > maxDeviceNumber || math.IsNaN(v) {
		fs.add(field, fmt.Sprintf("want a number between 0 and %d", maxDeviceNumber))
	}
}
