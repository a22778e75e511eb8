package main

import (
	"github.com/riskauth/riskauth/engine"

	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
)

// bodyConfig shapes the generated traffic.
type bodyConfig struct {
	Seed      uint64
	Users     int // distinct accounts
	Bodies    int // distinct request bodies, cycled through
	Attackers int // attacking IP addresses
}

var userAgents = []struct {
	ua, platform string
	mobile       bool
}{
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Win32", false},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0", "Win32", false},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", "MacIntel", false},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:132.0) Gecko/20100101 Firefox/132.0", "MacIntel", false},
	{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Linux x86_64", false},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "iPhone", true},
	{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.39 Mobile Safari/537.36", "Linux armv8l", true},
	{"Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36", "Linux armv8l", true},
}

var attackerAgents = []string{"python-requests/2.32.3", "curl/8.5.0", "Go-http-client/1.1", ""}

var timezones = []string{"Europe/Berlin", "Europe/Paris", "America/New_York", "America/Sao_Paulo", "Asia/Tokyo", "Asia/Kolkata", "Australia/Sydney", "Africa/Lagos"}
var languages = [][]string{{"en-US", "en"}, {"de-DE", "de", "en"}, {"fr-FR", "fr"}, {"pt-BR", "pt"}, {"ja-JP", "ja"}, {"hi-IN", "en"}}
var screens = [][2]int{{1920, 1080}, {2560, 1440}, {1440, 900}, {1366, 768}, {390, 844}, {412, 915}, {393, 873}}

type evaluateJSON struct {
	Event      string                   `json:"event"`
	UserID     string                   `json:"user_id,omitempty"`
	Identifier string                   `json:"identifier,omitempty"`
	IP         string                   `json:"ip"`
	UserAgent  string                   `json:"user_agent"`
	Device     *engine.DeviceDescriptor `json:"device,omitempty"`
	Attributes map[string]string        `json:"attributes,omitempty"`
	Password   string                   `json:"password,omitempty"`
}

type user struct {
	id, email string
	ips       []string
	ua        int
	device    engine.DeviceDescriptor
}

// genBodies returns cfg.Bodies evaluate bodies drawn from a seeded RNG: the
// same flags always give the same traffic.
func genBodies(cfg bodyConfig) [][]byte {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))
	hex := func(n int) string {
		const digits = "0123456789abcdef"
		b := make([]byte, n)
		for i := range b {
			b[i] = digits[rng.IntN(16)]
		}
		return string(b)
	}
	ipv4 := func() string {
		for {
			a := netip.AddrFrom4([4]byte{byte(1 + rng.IntN(223)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(1 + rng.IntN(254))})
			if a.IsGlobalUnicast() && !a.IsPrivate() {
				return a.String()
			}
		}
	}
	ipv6 := func() string {
		var b [16]byte
		b[0], b[1] = 0x2a, byte(rng.IntN(16))
		for i := 2; i < 16; i++ {
			b[i] = byte(rng.IntN(256))
		}
		return netip.AddrFrom16(b).String()
	}
	users := make([]user, cfg.Users)
	for i := range users {
		u := user{id: fmt.Sprintf("usr_%07d", i), email: fmt.Sprintf("user%d@example.%s", i, []string{"com", "org", "net", "de"}[rng.IntN(4)])}
		for range 1 + rng.IntN(2) {
			if rng.IntN(10) == 0 {
				u.ips = append(u.ips, ipv6())
			} else {
				u.ips = append(u.ips, ipv4())
			}
		}
		u.ua = rng.IntN(len(userAgents))
		s := screens[rng.IntN(len(screens))]
		u.device = engine.DeviceDescriptor{
			Platform: userAgents[u.ua].platform, Languages: languages[rng.IntN(len(languages))],
			Timezone: timezones[rng.IntN(len(timezones))], ScreenWidth: s[0], ScreenHeight: s[1], ColorDepth: 24,
			PixelRatio: []float64{1, 1.25, 2, 3}[rng.IntN(4)], HardwareConcurrency: []int{4, 8, 12, 16}[rng.IntN(4)],
			DeviceMemory: []float64{4, 8}[rng.IntN(2)], CanvasHash: hex(16),
			WebGLRenderer: "ANGLE (Intel, Intel(R) UHD Graphics 620 Direct3D11 vs_5_0 ps_5_0, D3D11)",
		}
		if userAgents[u.ua].mobile {
			u.device.TouchPoints = 5
		}
		if rng.IntN(10) < 7 {
			u.device.CookieID = "dvc_" + hex(24)
		}
		users[i] = u
	}
	attackers := make([]string, max(cfg.Attackers, 1))
	for i := range attackers {
		attackers[i] = ipv4()
	}
	zipf := rand.NewZipf(rng, 1.2, 1, uint64(cfg.Users-1))
	apps := []string{"web", "ios", "android"}

	out := make([][]byte, cfg.Bodies)
	for i := range out {
		var req evaluateJSON
		switch r := rng.IntN(100); {
		case r < 4: // an attacker tries some account from a small pool of addresses
			u := users[rng.IntN(len(users))]
			req = evaluateJSON{Event: "login", Identifier: u.email, IP: attackers[rng.IntN(len(attackers))],
				UserAgent: attackerAgents[rng.IntN(len(attackerAgents))], Password: "Summer2024!"}
		default:
			u := &users[zipf.Uint64()]
			req = evaluateJSON{Event: "login", UserID: u.id, IP: u.ips[rng.IntN(len(u.ips))],
				UserAgent: userAgents[u.ua].ua, Attributes: map[string]string{"app": apps[rng.IntN(len(apps))]}}
			dev := u.device
			req.Device = &dev
			switch {
			case r < 9:
				req.Event, req.UserID, req.Identifier = "registration", "", u.email
				req.Password = "pw-" + hex(12)
			case r < 13:
				req.Event, req.UserID, req.Identifier = "password_reset", "", u.email
			case r < 18:
				req.Event = "mfa"
			case r < 40:
				req.Password = "pw-" + hex(12) // the app asks for the breached-password check
			}
			if rng.IntN(20) == 0 { // travelling or on another network
				req.IP = ipv4()
			}
		}
		b, err := json.Marshal(req)
		if err != nil {
			panic(err) // only strings, numbers and maps of strings
		}
		out[i] = b
	}
	return out
}
