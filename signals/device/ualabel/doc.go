// Package ualabel labels user agents for riskauth: it parses them with
// medama-io/go-useragent and maps the parser's browser, OS and device-type
// names onto the labels riskauth exposes and hashes, adds the OS versions
// the parser does not report and flags headless browsers and HTTP tools
// ([Labels]). signals/device (device ids, device features) and
// engine/familiarity (the familiarity model's browser, OS and device-type
// features) both use it, so their labels agree.
//
// It is a leaf package, apart from signals/device, so that the
// familiarity model does not depend on the engine through signals/device
// and the engine can use the model.
//
// # The cache
//
// Every risk evaluation needs the labels of its user agent twice (the
// device identifier, then the familiarity extractor), and a parse costs
// about a microsecond of trie walking plus the marker and version scans:
// the largest part of device identification. Real traffic repeats a small
// set of user agents, so [Parse] and [ParseAgain] keep parsed labels in a
// process-wide, concurrency-safe cache keyed by the exact user-agent
// string: an evaluation parses its user agent at most once and usually
// not at all (twice if it has leading or trailing spaces, which
// engine/familiarity trims and signals/device keeps). The cache is bounded at 4096 user agents of up to 512 bytes
// (longer ones are parsed every time, never cached), and it is a 2Q cache
// so that a flood of one-off user agents cannot cheaply flush the ones
// real clients repeat. Results are the same as parsing afresh: the parser
// and the labels are deterministic and fixed for the life of the process.
package ualabel
