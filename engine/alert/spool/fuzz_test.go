package spool

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// encodeRecords is the on-disk form of records, for seeds.
func encodeRecords(recs ...[]byte) []byte {
	var b []byte
	for _, r := range recs {
		var h [recHeaderSize]byte
		putRecHeader(h[:], r)
		b = append(append(b, h[:]...), r...)
	}
	return b
}

// FuzzOpen writes arbitrary bytes as the only segment (after a valid
// header when withHeader is set, so the fuzzer explores record parsing)
// and optionally as the cursor file, then opens and drains the spool. It
// must never panic, Open must not fail on content, every record returned
// must match its checksum on disk, Len and Bytes must agree with what Read
// returns, and the spool must keep working afterwards.
func FuzzOpen(f *testing.F) {
	h := segHeader()
	valid := encodeRecords([]byte("alpha"), []byte("beta"), bytes.Repeat([]byte("g"), 300))
	f.Add(true, valid, []byte(nil))
	f.Add(true, valid[:len(valid)-3], []byte(nil))
	f.Add(true, append(append([]byte{}, valid...), 0, 0, 0, 0, 0, 0, 0, 0, 0), []byte(nil))
	flipped := append([]byte{}, valid...)
	flipped[20] ^= 1
	f.Add(true, flipped, []byte(nil))
	f.Add(true, valid, encodeCursor(Position{Segment: 1, Offset: segHeaderSize + 13}))
	f.Add(true, valid, encodeCursor(Position{Segment: 1, Offset: 15}))
	f.Add(true, valid, encodeCursor(Position{Segment: 1, Offset: 1 << 40}))
	f.Add(true, valid, encodeCursor(Position{Segment: 9, Offset: 8}))
	f.Add(true, valid, encodeCursor(Position{Segment: 1<<64 - 1, Offset: 8}))
	f.Add(true, valid, encodeCursor(Position{Segment: 1, Offset: -1}))
	f.Add(false, append(h[:], valid...), []byte("garbage cursor"))
	f.Add(false, []byte("RAS"), []byte(nil))
	f.Add(true, []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, []byte(nil))

	f.Fuzz(func(t *testing.T, withHeader bool, data, cursor []byte) {
		dir := t.TempDir()
		seg := data
		if withHeader {
			seg = append(h[:], data...)
		}
		path := filepath.Join(dir, segName(1))
		require.NoError(t, os.WriteFile(path, seg, 0o600))
		if len(cursor) > 0 {
			require.NoError(t, os.WriteFile(filepath.Join(dir, cursorName), cursor, 0o600))
		}
		opts := Options{Dir: dir, Sync: SyncNever, Logger: slog.New(slog.DiscardHandler), noFsync: true}
		s, err := Open(opts)
		require.NoError(t, err)
		defer s.Close()

		recs, err := s.Read(1 << 20)
		require.NoError(t, err)
		require.Equal(t, len(recs), s.Len())
		require.Equal(t, diskBytes(dataOf(recs)), s.Bytes())
		for _, r := range recs {
			disk, err := os.ReadFile(filepath.Join(dir, segName(r.Pos.Segment)))
			require.NoError(t, err)
			start := r.Pos.Offset - recHeaderSize - int64(len(r.Data))
			require.GreaterOrEqual(t, start, int64(segHeaderSize))
			require.LessOrEqual(t, r.Pos.Offset, int64(len(disk)))
			hdr := disk[start : start+recHeaderSize]
			require.Equal(t, uint32(len(r.Data)), binary.LittleEndian.Uint32(hdr[0:4]))
			require.Equal(t, crc32.Checksum(r.Data, castagnoli), binary.LittleEndian.Uint32(hdr[4:8]))
			require.Equal(t, disk[start+recHeaderSize:r.Pos.Offset], r.Data)
		}

		require.NoError(t, s.Append([]byte("after")))
		more, err := s.Read(1 << 20)
		require.NoError(t, err)
		require.Len(t, more, len(recs)+1)
		require.Equal(t, "after", string(more[len(more)-1].Data))
		require.NoError(t, s.Ack(more[len(more)-1].Pos))
		require.Zero(t, s.Len())
		require.NoError(t, s.Close())

		s2, err := Open(opts)
		require.NoError(t, err)
		defer s2.Close()
		require.Zero(t, s2.Len())
		left, err := s2.Read(10)
		require.NoError(t, err)
		require.Empty(t, left)
	})
}
