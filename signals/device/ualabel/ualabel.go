package ualabel

import "github.com/medama-io/go-useragent/agents"

// Browser maps the parser's browser names onto the labels riskauth
// exposes (and hashes), so a renamed constant in a parser upgrade is caught
// here rather than silently changing ids. Every package that labels user
// agents (the familiarity model too) uses these, so labels agree.
func Browser(b agents.Browser) string {
	switch b {
	case agents.BrowserChrome:
		return "Chrome"
	case agents.BrowserEdge:
		return "Edge"
	case agents.BrowserFirefox:
		return "Firefox"
	case agents.BrowserSafari:
		return "Safari"
	case agents.BrowserOpera:
		return "Opera"
	case agents.BrowserOperaMini:
		return "Opera Mini"
	case agents.BrowserIE:
		return "IE"
	case agents.BrowserVivaldi:
		return "Vivaldi"
	case agents.BrowserSamsung:
		return "Samsung Internet"
	case agents.BrowserSilk:
		return "Silk"
	case agents.BrowserYandex:
		return "Yandex"
	case agents.BrowserAndroid:
		return "Android Browser"
	case agents.BrowserHuawei:
		return "Huawei Browser"
	case agents.BrowserFalkon:
		return "Falkon"
	case agents.BrowserNintendo:
		return "Nintendo Browser"
	}
	return string(b)
}

// OS maps the parser's OS names onto riskauth's labels.
func OS(o agents.OS) string {
	switch o {
	case agents.OSWindows:
		return "Windows"
	case agents.OSMacOS:
		return "macOS"
	case agents.OSIOS:
		return "iOS"
	case agents.OSAndroid:
		return "Android"
	case agents.OSLinux:
		return "Linux"
	case agents.OSChromeOS:
		return "ChromeOS"
	case agents.OSFreeBSD:
		return "FreeBSD"
	case agents.OSOpenBSD:
		return "OpenBSD"
	}
	return string(o)
}

// Type maps the parser's device types onto riskauth's labels:
// desktop, mobile, tablet, tv, bot or "".
func Type(t agents.Device) string {
	switch t {
	case agents.DeviceDesktop:
		return "desktop"
	case agents.DeviceMobile:
		return "mobile"
	case agents.DeviceTablet:
		return "tablet"
	case agents.DeviceTV:
		return "tv"
	case agents.DeviceBot:
		return "bot"
	}
	return ""
}
