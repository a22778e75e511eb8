package httpapi

import (
	"bytes"
	_ "embed"
)

//go:embed openapi.json
var openAPIDoc []byte

// OpenAPIDocument returns a copy of the embedded OpenAPI 3.1 document that
// describes this API (what /openapi.json serves by default).
func OpenAPIDocument() []byte { return bytes.Clone(openAPIDoc) }
