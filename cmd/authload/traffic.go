package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"

	"github.com/riskauth/riskauth/engine"
)

// legitPassword is every synthetic account's password: long, not in any
// breach list (the engine would step up a breached one), never logged.
const legitPassword = "quiet-lamp-orbit-7419-sunrise-fjord"

// attackPasswords are what a stuffing list holds: common, breached, wrong.
var attackPasswords = []string{"Summer2024!", "password123", "qwerty123", "Welcome1", "iloveyou", "P@ssw0rd", "letmein!", "123456789"}

var userAgents = []struct {
	ua, platform string
	mobile       bool
}{
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Win32", false},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", "MacIntel", false},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:132.0) Gecko/20100101 Firefox/132.0", "MacIntel", false},
	{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Linux x86_64", false},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "iPhone", true},
	{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.39 Mobile Safari/537.36", "Linux armv8l", true},
}

var attackerAgents = []string{"python-requests/2.32.3", "curl/8.5.0", "Go-http-client/1.1", "okhttp/4.12.0"}

// client is one sender: its address (sent as X-Forwarded-For through the
// trusted proxy 127.0.0.1), user agent and the request bodies it cycles.
type client struct {
	ip, ua string
	body   []byte
}

// traffic is everything one run sends, built from a seed.
type traffic struct {
	// legit are the legitimate users: each has its own address (in a /24
	// of its own), user agent and browser device (a stable cookie id and
	// descriptor) and signs in with the right password.
	legit []client
	// victims are accounts that exist but that no legitimate client uses
	// in the run: an attacker's list hits real accounts, and a real user
	// is rarely on it (an account hit 5 times would rightly step up).
	victims []string
	// attackers are the stuffing requests: wrong passwords for victims
	// and for addresses that have no account, from a few addresses with
	// HTTP-library user agents and no device data.
	attackers []client
	// emails are the accounts to create: the legit users', then the
	// victims'.
	emails []string
}

type loginJSON struct {
	Identifier string     `json:"identifier"`
	Password   string     `json:"password"`
	Client     *clientObj `json:"client,omitempty"`
}

type clientObj struct {
	Device *engine.DeviceDescriptor `json:"device,omitempty"`
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // strings and numbers only
	}
	return b
}

// genTraffic builds users legit users, as many victims, and attackIPs
// attacking addresses sending attackBodies distinct requests.
func genTraffic(seed uint64, users, attackIPs, attackBodies int) traffic {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	hex := func(n int) string {
		const digits = "0123456789abcdef"
		b := make([]byte, n)
		for i := range b {
			b[i] = digits[rng.IntN(16)]
		}
		return string(b)
	}
	subnets := map[[3]byte]bool{}
	ipv4 := func() string {
		for {
			a := [4]byte{byte(1 + rng.IntN(223)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(1 + rng.IntN(254))}
			ip := netip.AddrFrom4(a)
			net := [3]byte{a[0], a[1], a[2]}
			if ip.IsGlobalUnicast() && !ip.IsPrivate() && !subnets[net] && a[0] != 100 && a[0] != 198 && a[0] != 192 && a[0] != 203 {
				subnets[net] = true
				return ip.String()
			}
		}
	}
	var t traffic
	for i := range users {
		email := fmt.Sprintf("user%d@example.com", i)
		ua := userAgents[rng.IntN(len(userAgents))]
		d := &engine.DeviceDescriptor{
			CookieID: "dvc_" + hex(24), Platform: ua.platform, Languages: []string{"en-US", "en"},
			Timezone: "Europe/Berlin", ScreenWidth: 1920, ScreenHeight: 1080, ColorDepth: 24, PixelRatio: 1,
			HardwareConcurrency: 8, DeviceMemory: 8, CanvasHash: hex(16),
			WebGLRenderer: "ANGLE (Intel, Intel(R) UHD Graphics 620 Direct3D11 vs_5_0 ps_5_0, D3D11)",
		}
		if ua.mobile {
			d.TouchPoints, d.ScreenWidth, d.ScreenHeight, d.PixelRatio = 5, 390, 844, 3
		}
		t.legit = append(t.legit, client{ip: ipv4(), ua: ua.ua,
			body: mustJSON(loginJSON{Identifier: email, Password: legitPassword, Client: &clientObj{Device: d}})})
		t.emails = append(t.emails, email)
	}
	for i := range users {
		v := fmt.Sprintf("victim%d@example.org", i)
		t.victims = append(t.victims, v)
		t.emails = append(t.emails, v)
	}
	ips := make([]string, attackIPs)
	for i := range ips {
		ips[i] = ipv4()
	}
	for i := range attackBodies {
		id := fmt.Sprintf("nobody%d@example.net", rng.IntN(1<<30)) // no such account
		if i%2 == 0 {
			id = t.victims[rng.IntN(len(t.victims))]
		}
		t.attackers = append(t.attackers, client{ip: ips[i%len(ips)], ua: attackerAgents[rng.IntN(len(attackerAgents))],
			body: mustJSON(loginJSON{Identifier: id, Password: attackPasswords[rng.IntN(len(attackPasswords))]})})
	}
	return t
}
