package mail

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRenderGoldenGerman: the mails in the catalogue, asked for in
// German (the reader's Accept-Language or profile locale), come out in
// German, text and HTML (testdata/de/*.golden, -update rewrites them);
// the English goldens of TestRenderGolden are the same mails in English.
func TestRenderGoldenGerman(t *testing.T) {
	t.Parallel()
	r := newRenderer(t)
	const lang = "de-CH,de;q=0.9,en;q=0.8"
	rc := RequestContext{When: eventTime, IP: "203.0.113.7", Location: "Lyon, Frankreich", Device: "Firefox on Linux", Lang: lang}
	msgs := map[Kind]func() (Message, error){
		KindVerifyEmail: func() (Message, error) {
			return r.VerifyEmail("alice@example.org", LinkData{Token: "tok-verify", ExpiresIn: 24 * time.Hour, Lang: lang})
		},
		KindAccountExists: func() (Message, error) { return r.AccountExists("alice@example.org", lang) },
		KindLoginCode: func() (Message, error) {
			return r.LoginCode("alice@example.org", LoginCodeData{Code: "428193", Token: "tok-magic", ExpiresIn: 10 * time.Minute, Context: rc})
		},
		KindPasswordReset: func() (Message, error) {
			return r.PasswordReset("alice@example.org", LinkData{Token: "tok-reset", ExpiresIn: 30 * time.Minute}, rc)
		},
		KindDataExport: func() (Message, error) {
			return r.DataExport("alice@example.org", LinkData{Token: "tok-export", ExpiresIn: time.Hour}, rc)
		},
		KindMFAChanged: func() (Message, error) {
			return r.MFAChanged("alice@example.org", MFAChangeData{Change: MFARemoved, Factor: "authenticator app", SignedOut: 2}, rc)
		},
	}
	msgs[KindAccountDeletion] = func() (Message, error) {
		return r.AccountDeletion("alice@example.org", eventTime.Add(7*24*time.Hour), rc)
	}
	msgs[KindEmailChange] = func() (Message, error) {
		return r.EmailChange("alice@example.org", EmailChangeData{Token: "tok-change", ExpiresIn: 24 * time.Hour,
			NewAddress: "alice@new.example", Confirm: true, Context: rc})
	}
	msgs[KindEmailChanged] = func() (Message, error) {
		return r.EmailChanged("alice@example.org", EmailChangeData{Token: "tok-undo", ExpiresIn: 72 * time.Hour,
			NewAddress: "alice@new.example", Context: rc})
	}
	for _, k := range []Kind{KindPasswordChanged, KindNewDeviceSignIn, KindStepUpFailed} {
		msgs[k] = func() (Message, error) { return r.SecurityEvent(k, "alice@example.org", rc) }
	}
	for k, render := range msgs {
		t.Run(string(k), func(t *testing.T) {
			t.Parallel()
			m, err := render()
			require.NoError(t, err)
			require.NoError(t, m.Validate())
			assert.Contains(t, m.HTML, `<html lang="de">`)
			assert.Contains(t, m.Text, "Dies ist eine automatische Nachricht")
			golden(t, filepath.Join("testdata", "de", string(k)+".golden"), "Subject: "+m.Subject+"\n\n"+m.Text+"\n"+m.HTML)
		})
	}
}

// golden compares got with the file at path (-update rewrites it).
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create golden files")
	require.Equal(t, string(want), got)
}

// TestRenderMFAChangeGerman: every change and both plural forms of the
// signed-out sessions have their German sentence (an id missing from
// the catalogue would come out as itself).
func TestRenderMFAChangeGerman(t *testing.T) {
	t.Parallel()
	r := newRenderer(t)
	for c, want := range map[MFAChange]string{
		MFAAdded:             "Ihrem Example-Konto wurde am 28.11.2026, 13:05 UTC ein zweiter Faktor (Passkey) hinzugefügt.",
		MFARemoved:           "Von Ihrem Example-Konto wurde am 28.11.2026, 13:05 UTC ein zweiter Faktor (Passkey) entfernt.",
		MFARecoveryRenewed:   "neue Wiederherstellungscodes erstellt; die alten funktionieren nicht mehr.",
		MFARecoveryCodeUsed:  "wurde ein Wiederherstellungscode verwendet",
		MFAAllFactorsRemoved: "zur Anmeldung genügt jetzt allein das Passwort.",
		IdentityLinked:       "Ihr Passkey-Konto wurde am 28.11.2026, 13:05 UTC mit Ihrem Example-Konto verknüpft",
		IdentityUnlinked:     "Die Verknüpfung Ihres Passkey-Kontos mit Ihrem Example-Konto wurde am 28.11.2026, 13:05 UTC aufgehoben",
	} {
		for n, signedOut := range map[int]string{0: "", 1: "wurde 1 andere Sitzung abgemeldet", 3: "wurden 3 andere Sitzungen abgemeldet"} {
			m, err := r.MFAChanged("a@example.org", MFAChangeData{Change: c, Factor: "passkey", SignedOut: n}, RequestContext{When: eventTime, Lang: "de"})
			require.NoError(t, err)
			for _, body := range []string{m.Text, m.HTML} {
				assert.Contains(t, body, want, c)
				assert.Contains(t, body, signedOut, c)
				assert.NotContains(t, body, "mfa_", c)
				if n == 0 {
					assert.NotContains(t, body, "andere Sitzung", c)
				}
			}
		}
	}
}

// TestRenderEmailChangeGerman: the link to the new address (not the
// approval golden'd above) in German, and the address set in <strong>
// wherever German puts it, escaped like every other argument.
func TestRenderEmailChangeGerman(t *testing.T) {
	t.Parallel()
	r := newRenderer(t)
	rc := RequestContext{When: eventTime, Device: `Evil "<b>" 'x'`, Lang: "de"}
	m, err := r.EmailChange("new@example.org", EmailChangeData{Token: "t", ExpiresIn: 24 * time.Hour, NewAddress: "new@example.org", Context: rc})
	require.NoError(t, err)
	assert.Equal(t, "Bestätigen Sie Ihre neue E-Mail-Adresse für Example", m.Subject)
	assert.Contains(t, m.Text, "Um Ihr Example-Konto auf diese E-Mail-Adresse umzustellen, bestätigen Sie sie mit dem folgenden Link:")
	assert.Contains(t, m.HTML, "Der Link funktioniert einmal und läuft in 24 Stunden ab.")
	for _, lang := range []string{"de", "en"} {
		rc.Lang = lang
		m, err = r.EmailChanged("old@example.org", EmailChangeData{Token: "t", ExpiresIn: time.Hour, NewAddress: `<i>x</i>@example.org`, Context: rc})
		require.NoError(t, err)
		assert.Contains(t, m.HTML, "<strong>&lt;i&gt;x&lt;/i&gt;@example.org</strong>", lang)
		assert.Contains(t, m.HTML, "Evil &#34;&lt;b&gt;&#34; &#39;x&#39;", lang)
		assert.NotContains(t, m.HTML, "<i>", lang)
		assert.NotContains(t, m.HTML, "\ue000", lang)
	}
}

// TestRenderLanguageChoice: a language not offered, or none, is English.
func TestRenderLanguageChoice(t *testing.T) {
	t.Parallel()
	r := newRenderer(t)
	for lang, want := range map[string]string{"fr-FR": "Reset your Example password", "": "Reset your Example password",
		"de": "Setzen Sie Ihr Example-Passwort zurück", "fr, de;q=0.5": "Setzen Sie Ihr Example-Passwort zurück"} {
		m, err := r.PasswordReset("a@example.org", LinkData{Token: "t", ExpiresIn: time.Hour}, RequestContext{Lang: lang})
		require.NoError(t, err)
		assert.Equal(t, want, m.Subject, lang)
	}
}
