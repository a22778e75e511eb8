package authn

import "time"

// ExportFormat names the bundle's format and version; its JSON Schema is
// docs/schemas/export-bundle.v1.schema.json.
const ExportFormat = "riskauth.export.v1"

// ExportBundle is everything riskauth holds about one user, as the user
// downloads it (GDPR Art. 15 and 20, CCPA right to know): a JSON document
// whose shape is the documented schema. It never holds a secret: no
// password hash, TOTP secret, recovery code, token or session token;
// factors appear by type and dates. What is held elsewhere (the event
// topics) is named in NotIncluded with the reason.
type ExportBundle struct {
	Format      string    `json:"format"`
	GeneratedAt time.Time `json:"generated_at"`
	UserID      string    `json:"user_id"`

	Account ExportAccount `json:"account"`
	Profile ExportProfile `json:"profile"`
	Factors ExportFactors `json:"factors"`
	// Identities are the linked accounts at upstream identity providers.
	Identities []ExportIdentity `json:"identities"`
	Sessions   []ExportSession  `json:"sessions"`
	Devices    []ExportDevice   `json:"devices"`
	Activity   []ExportEntry    `json:"activity"`
	// SignInAttempts are the recent attempts behind the throttles
	// (successes and failures), newest first.
	SignInAttempts []ExportAttempt `json:"sign_in_attempts"`
	Consents       ExportConsents  `json:"consents"`
	// RiskProfile is the engine's profile of the user; nil when the
	// engine holds none (or its store cannot be read outside an
	// evaluation).
	RiskProfile *ExportRiskProfile `json:"risk_profile"`
	// DeletionRequest is the pending erasure request, nil when none.
	DeletionRequest *ExportDeletion `json:"deletion_request"`
	NotIncluded     []ExportNote    `json:"not_included"`
}

// ExportAccount is the account row without its secrets.
type ExportAccount struct {
	Email             string     `json:"email"`
	EmailVerifiedAt   *time.Time `json:"email_verified_at"`
	HasPassword       bool       `json:"has_password"`
	PasswordChangedAt *time.Time `json:"password_changed_at"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
	Disabled          bool       `json:"disabled"`
}

// ExportProfile is the profile with each custom attribute's declaration
// flags, so that the user sees which are personal data.
type ExportProfile struct {
	DisplayName string            `json:"display_name"`
	GivenName   string            `json:"given_name"`
	FamilyName  string            `json:"family_name"`
	Locale      string            `json:"locale"`
	TimeZone    string            `json:"time_zone"`
	Attributes  []ExportAttribute `json:"attributes"`
	Version     int64             `json:"version"`
	UpdatedAt   *time.Time        `json:"updated_at"`
}

// ExportAttribute is one custom attribute's value.
type ExportAttribute struct {
	Name         string `json:"name"`
	Value        any    `json:"value"`
	PersonalData bool   `json:"personal_data"`
	UserEditable bool   `json:"user_editable"`
}

// ExportFactors are the second factors by type and dates, never secrets.
type ExportFactors struct {
	TOTP []ExportTOTP `json:"totp"`
	// Passkeys are the account's passkeys, without key material.
	Passkeys []ExportPasskey `json:"passkeys"`
	// RecoveryCodesRemaining is how many unused recovery codes exist
	// (their hashes are not exported).
	RecoveryCodesRemaining int `json:"recovery_codes_remaining"`
}

// ExportIdentity is a linked upstream identity.
type ExportIdentity struct {
	ID         string    `json:"id"`
	Provider   string    `json:"provider"`
	Issuer     string    `json:"issuer"`
	Subject    string    `json:"subject"`
	Email      string    `json:"email"`
	LinkedAt   time.Time `json:"linked_at"`
	LastUsedAt time.Time `json:"last_used_at"`
}

// ExportTOTP is an authenticator app enrolment.
type ExportTOTP struct {
	ID          string     `json:"id"`
	Status      string     `json:"status"` // active or pending
	CreatedAt   time.Time  `json:"created_at"`
	ConfirmedAt *time.Time `json:"confirmed_at"`
}

// ExportPasskey is a passkey by its credential id, name and dates: no
// public key, no counter, no user handle.
type ExportPasskey struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	CreatedAt      time.Time  `json:"created_at"`
	LastUsedAt     *time.Time `json:"last_used_at"`
	BackupEligible bool       `json:"backup_eligible"`
	Synced         bool       `json:"synced"`
}

// ExportSession is a live session, without its token.
type ExportSession struct {
	ID                string    `json:"id"`
	AAL               int       `json:"aal"`
	CreatedAt         time.Time `json:"created_at"`
	LastSeenAt        time.Time `json:"last_seen_at"`
	IdleExpiresAt     time.Time `json:"idle_expires_at"`
	AbsoluteExpiresAt time.Time `json:"absolute_expires_at"`
	DeviceID          string    `json:"device_id"`
	IP                string    `json:"ip"`
	UserAgent         string    `json:"user_agent"`
}

// ExportDevice is a device of the user's list.
type ExportDevice struct {
	DeviceID  string    `json:"device_id"`
	Name      string    `json:"name"`
	UserAgent string    `json:"user_agent"`
	IP        string    `json:"ip"`
	City      string    `json:"city"`
	Country   string    `json:"country"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// ExportEntry is an entry of the activity history.
type ExportEntry struct {
	ID           string     `json:"id"`
	At           time.Time  `json:"at"`
	Kind         string     `json:"kind"`
	IP           string     `json:"ip"`
	City         string     `json:"city"`
	Country      string     `json:"country"`
	DeviceID     string     `json:"device_id"`
	UserAgent    string     `json:"user_agent"`
	Factor       string     `json:"factor"`
	Decision     string     `json:"decision"`
	Outcome      string     `json:"outcome"`
	SessionID    string     `json:"session_id"`
	EvaluationID string     `json:"evaluation_id"`
	DisownedAt   *time.Time `json:"disowned_at"`
}

// ExportAttempt is a sign-in attempt.
type ExportAttempt struct {
	At        time.Time `json:"at"`
	Factor    string    `json:"factor"`
	Success   bool      `json:"success"`
	IP        string    `json:"ip"`
	DeviceID  string    `json:"device_id"`
	UserAgent string    `json:"user_agent"`
}

// ExportConsents is the consent ledger (every grant and withdrawal,
// oldest first) and the communication preferences; Included is false,
// with Note saying why, on a server that records no consents.
type ExportConsents struct {
	Included    bool               `json:"included"`
	Note        string             `json:"note,omitempty"`
	Ledger      []ExportConsent    `json:"ledger"`
	Preferences *ExportPreferences `json:"preferences"`
}

// ExportConsent is one entry of the consent ledger.
type ExportConsent struct {
	ID        string    `json:"id"`
	Purpose   string    `json:"purpose"`
	Version   int       `json:"version"`
	Action    string    `json:"action"`
	At        time.Time `json:"at"`
	Source    string    `json:"source"`
	App       string    `json:"app"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	SessionID string    `json:"session_id"`
}

// ExportPreferences are the communication preferences.
type ExportPreferences struct {
	Channels  []string   `json:"channels"`
	Topics    []string   `json:"topics"`
	Language  string     `json:"language"`
	Version   int64      `json:"version"`
	UpdatedAt *time.Time `json:"updated_at"`
}

// ExportRiskProfile is the engine's risk profile of the user.
type ExportRiskProfile struct {
	Logins     int                `json:"logins"`
	FirstLogin *time.Time         `json:"first_login"`
	LastLogin  *ExportLastLogin   `json:"last_login"`
	Countries  []ExportSeen       `json:"countries"`
	Networks   []ExportSeen       `json:"networks"`
	Devices    []ExportRiskDevice `json:"devices"`
	// Familiarity is the familiarity history: per feature, the hashes of
	// the values seen (never the values) and their decayed weights.
	Familiarity *ExportFamiliarity `json:"familiarity"`
}

// ExportLastLogin is the last successful sign-in's time and place.
type ExportLastLogin struct {
	At      time.Time `json:"at"`
	Subnet  string    `json:"subnet"`
	IP      string    `json:"ip"`
	Country string    `json:"country"`
	City    string    `json:"city"`
	ASN     int       `json:"asn"`
}

// ExportSeen is a country or network the user signed in from.
type ExportSeen struct {
	Value string    `json:"value"`
	Count int       `json:"count"`
	Last  time.Time `json:"last"`
}

// ExportRiskDevice is a device in the engine's profile.
type ExportRiskDevice struct {
	DeviceID  string    `json:"device_id"`
	First     time.Time `json:"first_seen"`
	Last      time.Time `json:"last_seen"`
	Trusted   bool      `json:"trusted"`
	Forgotten bool      `json:"forgotten"`
}

// ExportFamiliarity is the familiarity history.
type ExportFamiliarity struct {
	Logins    uint64                     `json:"logins"`
	Weighted  float64                    `json:"weighted_logins"`
	UpdatedAt *time.Time                 `json:"updated_at"`
	Features  map[string][]ExportFamHash `json:"features"`
}

// ExportFamHash is one remembered value: its hash (hex) and weight.
type ExportFamHash struct {
	Hash   string  `json:"hash"`
	Weight float64 `json:"weight"`
}

// ExportDeletion is a pending erasure request.
type ExportDeletion struct {
	RequestedAt time.Time `json:"requested_at"`
	DueAt       time.Time `json:"due_at"`
}

// ExportNote names data about the user that riskauth holds or sends
// elsewhere and the bundle does not include, and why.
type ExportNote struct {
	What  string `json:"what"`
	Where string `json:"where"`
	Why   string `json:"why"`
}
