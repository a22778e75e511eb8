// Package ualabel maps the user-agent parser's (medama-io/go-useragent)
// browser, OS and device-type names onto the labels riskauth exposes and
// hashes. signals/device (device ids, device features) and
// signals/familiarity (the familiarity model's browser, OS and device-type
// features) both use it, so their labels agree.
//
// It is a leaf package, apart from signals/device, so that the
// familiarity model does not depend on the engine through signals/device
// and the engine can use the model. It parses nothing itself and is not
// a user-agent parser.
package ualabel
