package authn

import (
	"log/slog"
	"net/netip"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/password"
	"github.com/riskauth/riskauth/authn/seal"
	"github.com/riskauth/riskauth/authn/totp"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/clock"
)

// core is what the services share: the configuration, the stores, the
// risk engine, the credential helpers (argon2id hasher, password policy,
// TOTP sealer, recovery-code hasher), the mail queue and the
// security-event sink, and the helpers more than one service calls (risk
// evaluations and outcomes, attempts and throttling, password and
// second-factor checks, sessions, mail and events; each in the file of
// its subject). A dependency only one service uses lives on that service
// (SignIn's flow store and email-code key). New builds it once; it never
// changes afterwards.
type core struct {
	cfg     Config
	clock   clock.Clock
	log     *slog.Logger
	metrics *Metrics

	risk Risk
	// required is nil without a RequiredActionStore.
	required RequiredActionStore

	users    UserStore
	tokens   TokenStore
	sessions SessionBackend
	attempts AttemptStore
	totps    TOTPStore
	recovery RecoveryCodeStore
	// passkeys is nil when passkeys are off (hasPasskeys).
	passkeys PasskeyStore
	// ids are the linked upstream identities (signin_upstream.go); nil
	// when the server keeps none.
	ids IdentityBackend
	// counters and counterMAC: events counted across instances, under
	// keys that are a keyed hash of what they count (counterKey).
	counters   EventCounter
	counterMAC []byte

	hasher *password.Hasher
	policy *password.Checker
	sealer *seal.Sealer
	rhash  *totp.RecoveryHasher

	render *mail.Renderer
	mail   *mailQueue
	events SecurityEvents

	// self are the self-service stores a sign-in and a security event
	// write to (devices, activity) and the engine's profile editor; each
	// may be nil (activity.go).
	self selfStores
	// priv are the privacy rights' collaborators (privacy.go); its Store
	// is nil when they are off.
	priv PrivacyDeps
	// erasures counts erasures (ErasureJob's metric), nil until the job
	// is built.
	erasures *prometheus.CounterVec
}

// Client is who is asking: the HTTP layer fills it for every request. IP
// must already be resolved through the trusted proxies; Device is what a
// client collector sent (may be nil). JA4 is the TLS fingerprint of the
// client's connection when riskauthd terminated TLS itself (empty
// otherwise): the engine reads it as event.ja4.
type Client struct {
	IP         netip.Addr
	UserAgent  string
	Device     *engine.DeviceDescriptor
	Attributes map[string]string
	JA4        string
	// Languages is the request's Accept-Language (bounded by the HTTP
	// layer): the language of the mails the request sends when the
	// user's profile names none.
	Languages string
}

// truncUA cuts a user agent to what the engine accepts, for the attempt
// history and the session list.
func truncUA(ua string) string {
	if len(ua) > engine.MaxUserAgentLen {
		return ua[:engine.MaxUserAgentLen]
	}
	return ua
}
