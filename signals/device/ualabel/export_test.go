package ualabel

// Parses reports how many user agents have been parsed (cache misses and
// uncacheable ones), for ualabel_test.
func Parses() uint64 { return parses.Load() }
