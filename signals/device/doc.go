// Package device turns what a client reports about its device — the
// descriptor a browser collector or mobile SDK sends ([engine.DeviceDescriptor])
// and the User-Agent header — into an [engine.DeviceInfo]: a stable device id
// plus coarse Browser / OS / Type labels and a Headless flag. [Identifier]
// implements [engine.DeviceIdentifier].
//
// It is for cheap, inline normalisation on every evaluation: no I/O, no
// clock, no state after [New] but ualabel's bounded cache of user-agent
// labels (which changes no result), one allocation per call when the user
// agent is cached, and it never fails or panics (see MaxUserAgentLen and the
// bounds in features.go). It is not
// for remembering devices: whether an id is known for a user, when it was
// first seen and how many users share it (the device history of DESIGN.md)
// are kept elsewhere, keyed by the id made here; nor for TLS (JA4) hints. It
// is not a bot detector either: the Headless flag catches clients that say
// what they are, not ones that lie well.
//
// # The device id
//
// A client-held cookie id dominates. When the descriptor carries a usable
// CookieID (after trimming spaces: 8–128 printable ASCII bytes, at least 4
// distinct, not "undefined"), the id is derived from it alone and
// HasCookie is true; the other fields do not matter, so the id survives OS
// updates, new GPUs and travel. A cookie id that is not usable is ignored, as
// if absent, so broken clients sending "undefined" do not all share one id.
//
// Otherwise the id is derived from the features that stay the same across
// browser upgrades of one machine and differ between machines, each reduced
// to a canonical form, and only when they carry enough information (a total
// weight of at least 4, see the table); otherwise ID is "", because an id
// shared by everybody on Chrome/Windows in Berlin would make every such
// device look "known".
//
//	field                  used  weight  why / normalisation
//	---------------------  ----  ------  ------------------------------------------------------------
//	CookieID               yes   —       dominates when usable (see above)
//	UA: OS family          yes   0       Windows/macOS/iOS/Android/...; survives updates
//	UA: OS version         Win   0       only the Windows NT token: frozen at 10.0 for Windows 10 and
//	                                     11 and by reduced UAs; macOS is frozen at 10_15_7, iOS and
//	                                     Android versions change with every OS update, so not used
//	UA: browser family     yes   0       Chrome/Edge/Firefox/Safari/...; a second browser on the same
//	                                     machine is a second device (cookies are per browser anyway)
//	UA: browser version    no    —       changes every few weeks
//	UA: other tokens       no    —       reduced UA / client hints and minor token changes
//	Platform               yes   0       family only (windows, mac, linux, iphone, ipad, chromeos):
//	                                     "Win32" vs "Windows", "Linux armv8l" vs "Linux aarch64";
//	                                     "MacIntel" on a recognised iPad (desktop mode) is ipad
//	Languages[0]           yes   1       first non-empty tag, lower-cased, "_" -> "-"
//	Languages[1:]          no    —       users reorder the list; browsers append base languages
//	Timezone               yes   1       IANA name, lower-cased; renamed zones (Asia/Calcutta,
//	                                     Europe/Kiev, ...) and UTC aliases mapped to one name
//	ScreenWidth/Height     yes   2       (short side, long side): rotation does not matter
//	ColorDepth             yes   0       24 on nearly everything; separates HDR/30-bit displays
//	PixelRatio             yes   0       rounded to an integer: absorbs small zoom steps (110%, 125%)
//	HardwareConcurrency    yes   1       logical cores
//	DeviceMemory           yes   1       in quarter GiB (browsers report 0.25 .. 8)
//	TouchPoints            yes   0       0 on most desktops; also tells an iPad in desktop mode
//	CanvasHash             yes   3       as sent, lower-cased
//	WebGLHash              yes   3       as sent, lower-cased
//	WebGLRenderer          yes   1       distinctive words, each once: driver and API versions, PCI
//	                                     ids and backend words (ANGLE, Direct3D11, Metal, OpenGL)
//	                                     dropped, so driver updates and ANGLE backend switches keep it
//
// Out-of-range numbers (negative, NaN, absurdly large) count as absent;
// strings are cut (35 to 200 bytes) and reduced to printable ASCII. The
// fields are written into a length-prefixed message, domain-separated from
// cookie ids, and the id is HMAC-SHA256 under [Config].Key, truncated to
// 128 bits: "d_" and 32 hex digits. The key makes ids per deployment: they
// cannot be linked across deployments or recomputed from a leaked
// descriptor. Changing the key, the message layout, a normalisation or the
// UA parser's labels changes every id (every device becomes new);
// TestGoldenIDs pins ids so that such a change is deliberate.
//
// Trade-offs, knowingly taken:
//   - Without a cookie, identical machines collide: a lab or call centre of
//     one hardware/software image in one timezone is one device.
//   - Without a cookie, a changed feature is a new device: moving to another
//     timezone (or the OS changing it while travelling), a new monitor, a GPU
//     change, a new primary language, a browser update that changes canvas
//     rendering (canvas hashes are sensitive to font and Skia changes),
//     Firefox zoom (its screen size is in CSS pixels), "request desktop
//     site" on Android. A new device means step-up, not a block.
//   - Different browsers on one machine are different devices.
//   - Spoofing: every field is client-supplied; an attacker who learns a
//     victim's descriptor can replay it. The id is a signal, not an
//     authenticator; rules combine it with geo and velocity.
//
// # Labels
//
// Browser, OS and Type come from github.com/medama-io/go-useragent (v1.2.5,
// MIT) through signals/device/ualabel: a trie built once from embedded data
// that parses a user agent in under a microsecond with zero allocations
// (BenchmarkParseUA); its published benchmarks put it 3–4 times ahead of
// uap-go and mileusna/useragent, which allocate 8–16 times per parse. It is
// actively maintained as part of the Medama analytics project. Labels are
// mapped onto ualabel's own strings so a renamed constant upstream is caught
// in one place. Parsing was still most of Identify's cost, so ualabel keeps
// the labels of recently seen user agents in a bounded cache (4096 entries,
// shared with the familiarity extractor; see its package doc): repeated user
// agents, nearly all of real traffic, are not parsed again. Type is desktop,
// mobile, tablet, tv, bot or "". Two corrections on top of the parser:
// Android without "Mobile" in the UA is a tablet, and "macOS" with more than
// one touch point is an iPad asking for desktop sites (iOS/tablet).
//
// Headless is set for an empty user agent (Type stays ""). Headless is set
// and Type becomes "bot" for what the parser calls a bot (crawlers,
// HeadlessChrome, curl, ...) and for a short explicit list of markers at the
// start of a word (ualabel's automation.go, cached with the labels):
// headless browsers and automation (HeadlessChrome, PhantomJS, SlimerJS,
// Puppeteer, Playwright, Selenium, WebDriver, Lighthouse) and HTTP libraries
// and tools (curl, Wget, python-requests, urllib, aiohttp, httpx,
// Go-http-client, okhttp, Java, Apache HttpClient, libwww-perl, axios,
// node-fetch, undici, got, Scrapy, HTTPie, Postman, Guzzle, Ruby, reqwest,
// PowerShell, sqlmap, Nikto, Nuclei, zgrab). It does not catch headless
// browsers that send a normal user agent (Puppeteer and Playwright do by
// default once told to) and it does flag a native Android app that keeps
// okhttp's default user agent: apps should send their own.
package device
