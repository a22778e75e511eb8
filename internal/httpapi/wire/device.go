package wire

import (
	"bytes"

	"github.com/valyala/fastjson"

	"github.com/riskauth/riskauth/engine"
)

// MaxDeviceForm bounds the device descriptor a hosted page's form
// carries (the collector's JSON is a few hundred bytes).
const MaxDeviceForm = 4 << 10

// DecodeDevice decodes the device descriptor a hosted page's collector
// put into its form (one JSON object, as client.device of the sign-in
// API) and validates it the same way. The pages drop a descriptor that
// does not decode: the collector must never block a sign-in.
func (d *Decoder) DecodeDevice(raw []byte) (*engine.DeviceDescriptor, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > MaxDeviceForm {
		return nil, apiErr(CodeInvalidRequest, "the device descriptor is too large")
	}
	if len(raw) == 0 || raw[0] != '{' || fastjson.ValidateBytes(raw) != nil {
		return nil, apiErr(CodeMalformedJSON, "the device descriptor is not one JSON object")
	}
	body := make([]byte, 0, len(raw)+24)
	body = append(append(append(body, `{"client":{"device":`...), raw...), "}}"...)
	b, err := d.DecodeAuthn(ShapeClient, body)
	if err != nil {
		return nil, err
	}
	return b.Client.Device, nil
}
