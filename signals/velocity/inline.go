package velocity

// Inline tells the engine that Memory answers without I/O, so Load runs on
// the caller's goroutine instead of a goroutine of its own. (Profile cache
// misses read SQLite, a local file: still cheaper than a goroutine hand-off
// on average; the evaluation deadline still bounds them.)
func (m *Memory) Inline() bool { return true }
