// Package spool is a crash-safe, append-only, bounded on-disk queue of
// opaque records. It is the buffer that keeps SOC alerts while Kafka is
// unreachable or the sink's in-memory queue is full: the alert sink Appends
// the encoded messages, and its drainer Reads them back in order and Acks
// them once Kafka has accepted them.
//
// # What it is not
//
// It is not a message broker: one writer side and one reader side, one
// process per directory (nothing locks the directory), one read cursor, no
// fan-out, no random access, no compaction, no encryption (put Dir on an
// encrypted volume if the alerts need it). It does not interpret records,
// and it does not decide what to do when it is full.
//
// # Delivery
//
// Delivery is at-least-once. Read returns the oldest unacknowledged records
// and does not consume them; Ack(pos) persists the read cursor at pos, so
// every record up to pos is never delivered again, and deletes the segments
// wholly behind it. After a crash the records after the last persisted
// cursor are delivered again: consumers must tolerate duplicates.
//
// # When it is full
//
// Options.MaxBytes bounds the unacknowledged bytes (record headers
// included). An Append that would pass it returns ErrFull and writes
// nothing of its batch. The spool only refuses: dropping, retrying later or
// blocking the producer is the caller's decision. Space comes back as the
// reader acknowledges.
//
// # On-disk format
//
// Dir holds segment files named by a 20-digit decimal sequence number,
// 00000000000000000001.seg and so on, plus the cursor file "cursor".
// A segment starts with an 8-byte header: the magic "RASP", a version byte
// (1) and three zero bytes. Records follow back to back:
//
//	length  uint32 little-endian, 1..16 MiB, the payload size
//	crc     uint32 little-endian, CRC-32C (Castagnoli) of the payload
//	payload length bytes
//
// A new segment starts when the next record would take the active one past
// Options.SegmentBytes. Only the last segment is ever appended to.
//
// The cursor file holds 28 bytes: the magic "RASC", a version byte, three
// zero bytes, the segment number (uint64), the offset just after the last
// acknowledged record (int64), and a CRC-32C of the first 24 bytes. It is
// replaced atomically: written to cursor.tmp, fsynced, renamed over, and the
// directory fsynced.
//
// # Durability per sync policy
//
// Under every policy each Append hands its bytes to the kernel (one write
// system call for a batch that fits the 256 KiB buffer) before it returns,
// so a crash of the process alone loses nothing Append accepted. What a
// power loss or kernel crash may lose:
//
//   - SyncAlways: nothing Append returned nil for (it fsyncs first).
//   - SyncBatch (default): what was appended during the last
//     Options.SyncInterval (100 ms by default), since a background goroutine
//     fsyncs the active segment that often when it changed; an Append of at
//     least Options.SyncEvery records, Sync and Close fsync at once.
//   - SyncNever: whatever the kernel had not written back yet, possibly
//     including records in sealed segments (segments are fsynced on rollover
//     under the other two policies, not this one); Sync and Close still
//     fsync.
//
// Acknowledgements are always durable when Ack returns.
//
// # Recovery
//
// Open verifies the checksum of every unacknowledged record:
//
//   - A torn tail of the last segment (a partial header, a partial payload,
//     a bad checksum on the final record, zeros left by a lost extension) is
//     the mark of an interrupted write: it is truncated away with a warning
//     naming the file, the offset and the bytes dropped. The records before
//     it are kept and appending resumes there.
//   - A corrupt record followed by intact ones, or any bad record in an
//     earlier segment, is corruption: the records before it are kept; that
//     record and the rest of its segment are skipped, left on disk until the
//     segment is acknowledged, and logged at error level. If that segment is
//     the last, appending resumes in a new segment. Open does not refuse to
//     start: losing the service would lose more alerts than the bad block
//     held. Read applies the same rule to corruption that appears later.
//   - A file with a segment name but no valid segment header is renamed to
//     NAME.seg.corrupt and skipped with an error log.
//   - A missing or corrupt cursor file means redelivering from the oldest
//     segment, with a warning.
package spool
