// Package mail renders and delivers the service's transactional mail:
// address verification, sign-in codes and magic links, password reset,
// and the security notifications of ASVS 5.0 V6.3.7 / V6.4.3 (password
// changed, new device, MFA changed, failed step-up).
//
// Delivery is a Mailer. Two implementations exist:
//
//   - Outbox, the embedded default, appends every message as one JSON line
//     to <dataDir>/outbox.jsonl and fsyncs it before Send returns: a
//     one-process installation loses no mail, and a developer or a relay
//     process reads the file. The file holds live codes and links — it
//     is a mail spool, created 0600, not a log.
//   - SMTP sends through an SMTP submission server configured by one URL
//     (ParseSMTPURL), STARTTLS by default, with github.com/wneessen/go-mail.
//
// Messages come from Renderer, which fills the templates embedded from
// templates/ (text/template for the plain-text part, html/template for
// the HTML part). Every link is built from the configured public origin,
// never from a request's Host or Origin header: a forged header must not
// turn a password-reset mail into a link to the attacker's site.
//
// What it does not do: queueing with retries (a failed SMTP send is
// returned to the caller, which decides whether the flow fails), bounce
// handling, or marketing mail.
//
// Logs carry the message kind, tag, id and a pseudonymous recipient
// (RedactRecipient: a short hash of the address and its domain) — never
// the address, the subject, the body, a code, a link or a credential.
package mail
