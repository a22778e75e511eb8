// Package privfile keeps the service's own files private to the user it
// runs as: directories 0700, files 0600, whatever the umask. The data dir
// holds account databases, generated keys, mailed codes and links (the
// outbox), and the audit and alert trails; readable by every local user,
// any of them could sign in as anyone (issue 17, item 9).
//
// Creators use MkdirAll, OpenAppend and SQLite instead of the os calls;
// Tighten repairs a tree an older version left looser, once at start.
//
// It is not for files the operator owns (rule files, configuration, geo
// databases): their modes are the operator's choice. It imports nothing
// of riskauth's.
package privfile
