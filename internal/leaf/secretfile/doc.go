// Package secretfile keeps generated secrets in files of the data dir: a
// secret that is not configured is read from its file, or generated into
// it (0600) on first start, so that an embedded deployment keeps the same
// device ids, API key and sealing keys across restarts without asking the
// operator for any.
//
// It is shared by signals/standard (device.key) and internal/daemon (the
// API key, the authn secret and key lists), so that every generated file
// is written, logged and checked alike.
//
// It is not a secret store: nothing is encrypted, rotated or shared
// between instances. A deployment of several instances configures its
// secrets instead, since each instance would generate its own.
package secretfile
