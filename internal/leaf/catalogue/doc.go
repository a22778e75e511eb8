// Package catalogue is riskauth's message catalogue for mail: the texts
// of the mails in every language (locales/mail.LANG.toml, go-i18n's TOML
// format, edited by a translator without touching code), and the loader
// and language matching the hosted pages use for their own catalogue
// (internal/httpapi/locales) too, so that a page and a mail sent from it
// pick the same language from the same preferences.
//
// It sits among the leaf packages because both authn/mail (below the
// HTTP layer) and internal/httpapi use it; it imports nothing of
// riskauth's. It is not for formatting beyond messages: dates and
// durations are written by their users with the helpers here
// (Duration), in the chosen language.
package catalogue
