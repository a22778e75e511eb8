package wire

import (
	"strings"
	"testing"
	"time"

	"github.com/valyala/fastjson"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
	"github.com/riskauth/riskauth/rules"
)

const benchBody = `{"event":"login","user_id":"usr_0012345","ip":"203.0.113.77","user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36","device":{"cookie_id":"dvc_9f8e7d6c5b4a39281726354a","platform":"Win32","languages":["en-US","en"],"timezone":"Europe/Berlin","screen_width":1920,"screen_height":1080,"color_depth":24,"pixel_ratio":1.25,"hardware_concurrency":8,"device_memory":8,"canvas_hash":"0f1e2d3c4b5a6978","webgl_renderer":"ANGLE (Intel, Intel(R) UHD Graphics 620 Direct3D11 vs_5_0 ps_5_0, D3D11)"},"attributes":{"app":"web"},"password":"pw-0123456789ab"}`

func BenchmarkDecodeEvaluate(b *testing.B) {
	var d Decoder
	body := []byte(benchBody)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.DecodeEvaluate(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeEvaluate(b *testing.B) {
	schema, err := rules.NewSchema(engine.CounterNames(engine.DefaultCounters()))
	if err != nil {
		b.Fatal(err)
	}
	f := schema.NewFeatures()
	f.Event.Kind, f.Event.IP, f.Attr = "login", "203.0.113.77", map[string]string{"app": "web"}
	d := &engine.Decision{EvaluationID: "0190d7a4-0000-7000-8000-000000000000", Features: f, Time: time.Now(),
		Signals: engine.SignalStatuses{{Name: "velocity", Available: true, Millis: 0.02}}, RuleSetVersion: "d508cf26cfd814fe",
		Reasons: []engine.Reason{{Rule: "new-device", Description: "sign-in from a device this user has not signed in from before", Score: 30,
			Evidence: []risk.Evidence{{Field: "device.present", Value: true}, {Field: "user.known", Value: true}}}}}
	fe := NewEncoder()
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = fe.AppendDecision(buf[:0], d)
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkDecodeEvaluateGeneral measures the general path alone (what
// every evaluate body took before the fast path), for comparison.
func BenchmarkDecodeEvaluateGeneral(b *testing.B) {
	var pp fastjson.ParserPool
	body := []byte(benchBody)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, fs, err := parseEvaluate(&pp, body); err != nil || len(fs) > 0 {
			b.Fatal(err, fs)
		}
	}
}

// BenchmarkRefuseNested: what refusing the 60 KB body of 30,000
// nested arrays costs, on its own and buried in a typical evaluate body
// (the fast path scans to its depth limit first).
func BenchmarkRefuseNested(b *testing.B) {
	nested := strings.Repeat("[", 30000) + strings.Repeat("]", 30000)
	for _, c := range []struct{ name, body string }{
		{"alone", nested},
		{"in-evaluate-body", benchBody[:len(benchBody)-1] + `,"x":` + nested + `}`},
	} {
		b.Run(c.name, func(b *testing.B) {
			var d Decoder
			body := []byte(c.body)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.DecodeEvaluate(body); err == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
}
