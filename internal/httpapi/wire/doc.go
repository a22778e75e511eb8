// Package wire holds the JSON request decoders and response encoders of
// riskauth's HTTP API, so that the handlers in package httpapi stay thin:
// a handler hands the raw body to a Decoder method and gets a typed,
// validated value or an *Error; it hands the engine's decision to an
// Encoder and gets bytes.
//
//   - DecodeEvaluate and DecodeOutcome read the risk API's bodies; the
//     evaluate body, the hot one, has a one-pass fast path (evaluate_scan.go,
//     scan.go) in front of the general fastjson path (decode.go).
//   - DecodeAuthn reads every sign-in and account body, each route naming
//     its Shape: only the members the shape declares are bound.
//   - Encoder.AppendDecision renders the evaluate answer by hand, without
//     allocating.
//   - ErrorBody renders the one error shape of the API,
//     {"error": {"code", "message", "fields"}}.
//
// Every error a decoder returns is an *Error with CodeMalformedJSON (400)
// or CodeInvalidRequest (422, every invalid field listed at once); the HTTP
// layer owns the table from codes to statuses.
//
// It works on []byte and typed values only: it does not import fiber or
// fasthttp, reads no headers, and knows nothing of routes, authentication
// or statuses (package httpapi). Nor does it decide what a valid event is
// beyond the wire's own limits: package engine validates events.
package wire
