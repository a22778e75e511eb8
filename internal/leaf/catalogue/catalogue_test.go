package catalogue_test

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/internal/leaf/catalogue"
)

func TestMailCatalogue(t *testing.T) {
	t.Parallel()
	c, err := catalogue.Mail()
	require.NoError(t, err)
	assert.Equal(t, []string{"en", "de"}, c.Languages())
	for _, tc := range []struct {
		prefs []string
		want  string
	}{
		{[]string{"de-CH,de;q=0.9,en;q=0.8"}, "de"},
		{[]string{"", "de"}, "de"},
		{[]string{"en", "de"}, "en"},
		{[]string{"fr-FR,de;q=0.5"}, "de"},
		{[]string{"fr"}, "en"},
		{nil, "en"},
		{[]string{strings.Repeat("x-", 400)}, "en"},
		{[]string{"de;q=bad"}, "en"},
	} {
		assert.Equal(t, tc.want, c.Localizer(tc.prefs...).Lang, "%q", tc.prefs)
	}
	de, en := c.Localizer("de"), c.Localizer("en")
	for _, tc := range []struct {
		d      time.Duration
		en, de string
	}{
		{30 * time.Second, "30 seconds", "30 Sekunden"},
		{time.Minute, "1 minute", "1 Minute"},
		{15 * time.Minute, "15 minutes", "15 Minuten"},
		{time.Hour, "60 minutes", "60 Minuten"},
		{24 * time.Hour, "24 hours", "24 Stunden"},
		{7 * 24 * time.Hour, "7 days", "7 Tagen"},
	} {
		assert.Equal(t, tc.en, en.Duration(tc.d))
		assert.Equal(t, tc.de, de.Duration(tc.d))
	}
	at := time.Date(2026, 12, 7, 22, 5, 0, 0, time.FixedZone("CET", 3600))
	assert.Equal(t, "Monday 7 December 2026, 21:05 UTC", en.Time(at))
	assert.Equal(t, "07.12.2026, 21:05 UTC", de.Time(at))
	assert.Equal(t, "Requested from Lyon (IP 192.0.2.1).", en.T("requested", "Location", "Lyon", "Device", "", "IP", "192.0.2.1"))
	assert.Equal(t, "no_such_id", en.T("no_such_id"))
	for n, want := range map[int]string{1: "wurde 1 andere Sitzung", 2: "wurden 2 andere Sitzungen"} {
		assert.Contains(t, de.Plural("mfa_signed_out", n), want)
	}
	assert.Equal(t, "no_such_id", de.Plural("no_such_id", 2))
	assert.False(t, en.Has("no_such_id"))
	assert.True(t, de.Has("hello"))
}

// TestLoadRefusesHalfTranslated: a language lacking an English id, or
// having one English lacks, refuses to load, naming them.
func TestLoadRefusesHalfTranslated(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		files map[string]string
		want  string
	}{
		"missing": {map[string]string{"l/x.en.toml": "a = \"A\"\nb = \"B\"\n", "l/x.de.toml": "a = \"A\"\n"}, "missing [b]"},
		"extra":   {map[string]string{"l/x.en.toml": "a = \"A\"\n", "l/x.de.toml": "a = \"A\"\nc = \"C\"\n"}, "not in English [c]"},
		"no en":   {map[string]string{"l/x.de.toml": "a = \"A\"\n"}, "English file is missing"},
		"syntax":  {map[string]string{"l/x.en.toml": "a = \n"}, "catalogue l/x.en.toml"},
	} {
		fs := fstest.MapFS{}
		for p, body := range tc.files {
			fs[p] = &fstest.MapFile{Data: []byte(body)}
		}
		_, err := catalogue.Load(fs, "l/*.toml")
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), tc.want, name)
	}
}

// FuzzLocalizer: any Accept-Language value picks an offered language and
// never panics.
func FuzzLocalizer(f *testing.F) {
	c, err := catalogue.Mail()
	require.NoError(f, err)
	for _, s := range []string{"de-CH,de;q=0.9", "*", "en;q=0", strings.Repeat("a,", 200), "zh-Hant-TW;q=0.1,,,;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l := c.Localizer(s)
		if l.Lang != "en" && l.Lang != "de" {
			t.Fatalf("%q picked %q", s, l.Lang)
		}
	})
}
