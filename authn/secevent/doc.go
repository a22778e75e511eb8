// Package secevent is the vocabulary of account security events: what
// authn reports to the SOC when something happens to an account (a
// password or second factor changed, sessions revoked, a lockout, a
// failed step-up, a sign-in from a new device).
//
// It exists so that the producer and the consumer of these events agree
// on a type without depending on each other: authn emits Event values
// through its own consumer-side interface (authn.SecurityEvents), and
// engine/alert delivers them, with engine/alert/ocsf mapping each Type to
// an OCSF class. authn therefore never builds OCSF records, and the alert
// tree never imports authn.
//
// It is not for delivery (engine/alert), for the message format
// (engine/alert/ocsf), or for deciding when an event happens (authn). It
// holds plain data and imports nothing of riskauth's but the shared
// vocabulary (engine/risk, for Severity).
package secevent
