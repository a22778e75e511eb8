package spool

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"github.com/stretchr/testify/require"
)

// testLogger logs to logs at debug level; logs is safe to read while the
// sync goroutine writes.
func testLogger(logs *testenv.LogBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func openSpool(t testing.TB, opts Options) *Spool {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := Open(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// payload is record i, recognisable in a diff, padded to size bytes.
func payload(i, size int) []byte {
	p := fmt.Appendf(nil, "record-%06d|", i)
	for len(p) < size {
		p = append(p, byte('a'+i%26))
	}
	return p[:max(size, 1)]
}

func payloads(from, n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = payload(from+i, size)
	}
	return out
}

func readAll(t testing.TB, s *Spool) []Record {
	t.Helper()
	recs, err := s.Read(1 << 30)
	require.NoError(t, err)
	return recs
}

func dataOf(recs []Record) [][]byte {
	out := make([][]byte, len(recs))
	for i, r := range recs {
		out[i] = r.Data
	}
	return out
}

func segFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segSuffix))
	require.NoError(t, err)
	return m
}

func diskBytes(recs [][]byte) int64 {
	var n int64
	for _, r := range recs {
		n += recHeaderSize + int64(len(r))
	}
	return n
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		sync  SyncPolicy
		batch int
		size  int
	}{
		{"batch/one-by-one", SyncBatch, 1, 600},
		{"batch/batched", SyncBatch, 16, 600},
		{"always", SyncAlways, 8, 100},
		{"never", SyncNever, 4, 1},
		{"large records", SyncNever, 2, 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := openSpool(t, Options{Dir: t.TempDir(), Sync: tc.sync})
			want := payloads(0, 32, tc.size)
			for i := 0; i < len(want); i += tc.batch {
				require.NoError(t, s.Append(want[i:i+tc.batch]...))
			}
			require.Equal(t, len(want), s.Len())
			require.Equal(t, diskBytes(want), s.Bytes())
			recs := readAll(t, s)
			require.Equal(t, want, dataOf(recs))
			require.NoError(t, s.Sync())
		})
	}
}

func TestAppendCopiesRecords(t *testing.T) {
	t.Parallel()
	s := openSpool(t, Options{Dir: t.TempDir()})
	buf := []byte("first")
	require.NoError(t, s.Append(buf))
	copy(buf, "XXXXX")
	recs := readAll(t, s)
	require.Equal(t, "first", string(recs[0].Data))
}

func TestOrderAcrossRollover(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openSpool(t, Options{Dir: dir, SegmentBytes: 1000})
	want := payloads(0, 100, 90)
	for i := 0; i < 100; i += 10 {
		require.NoError(t, s.Append(want[i:i+10]...))
	}
	files := segFiles(t, dir)
	require.Len(t, files, 10, "ten 98-byte records fill a 1000-byte segment with its header")
	for _, f := range files {
		fi, err := os.Stat(f)
		require.NoError(t, err)
		require.LessOrEqual(t, fi.Size(), int64(1000))
	}
	recs := readAll(t, s)
	require.Equal(t, want, dataOf(recs))
	for i := 1; i < len(recs); i++ {
		require.True(t, recs[i-1].Pos.less(recs[i].Pos), "positions increase")
	}
}

func TestReadWithoutAckRepeats(t *testing.T) {
	t.Parallel()
	s := openSpool(t, Options{Dir: t.TempDir(), SegmentBytes: 300})
	want := payloads(0, 10, 50)
	require.NoError(t, s.Append(want...))
	first, err := s.Read(4)
	require.NoError(t, err)
	second, err := s.Read(4)
	require.NoError(t, err)
	require.Equal(t, first, second)
	require.Equal(t, want[:4], dataOf(first))
	longer, err := s.Read(7)
	require.NoError(t, err)
	require.Equal(t, first, longer[:4])
	// A position from the longer read is ackable after a shorter read.
	_, err = s.Read(2)
	require.NoError(t, err)
	require.NoError(t, s.Ack(longer[6].Pos))
	rest := readAll(t, s)
	require.Equal(t, want[7:], dataOf(rest))

	none, err := s.Read(0)
	require.NoError(t, err)
	require.Empty(t, none)
}

func TestAckRemovesSegments(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openSpool(t, Options{Dir: dir, SegmentBytes: 1000})
	want := payloads(0, 50, 90) // 10 records per segment: 5 segments
	require.NoError(t, s.Append(want...))
	require.Len(t, segFiles(t, dir), 5)
	recs := readAll(t, s)

	for _, tc := range []struct {
		ack       int // index of the record acknowledged
		files     int
		remaining int
	}{
		{ack: 4, files: 5, remaining: 45},
		{ack: 9, files: 4, remaining: 40}, // end of the first segment
		{ack: 25, files: 3, remaining: 24},
		{ack: 25, files: 3, remaining: 24}, // acknowledging again is a no-op
		{ack: 3, files: 3, remaining: 24},  // so is an older position
		{ack: 49, files: 1, remaining: 0},  // the active segment stays
	} {
		t.Run(fmt.Sprintf("ack-%d", tc.ack), func(t *testing.T) {
			require.NoError(t, s.Ack(recs[tc.ack].Pos))
			require.Len(t, segFiles(t, dir), tc.files)
			require.Equal(t, tc.remaining, s.Len())
			require.Equal(t, diskBytes(want[50-tc.remaining:]), s.Bytes())
			got := readAll(t, s)
			require.Equal(t, want[50-tc.remaining:], dataOf(got))
		})
	}
	// The acknowledged active segment is deleted once the next Ack moves
	// past it after a rollover.
	more := payloads(50, 20, 90)
	require.NoError(t, s.Append(more...))
	got := readAll(t, s)
	require.Equal(t, more, dataOf(got))
	require.NoError(t, s.Ack(got[len(got)-1].Pos))
	require.Len(t, segFiles(t, dir), 1)
	require.Zero(t, s.Len())
	require.Zero(t, s.Bytes())
}

func TestAckInvalidPosition(t *testing.T) {
	t.Parallel()
	s := openSpool(t, Options{Dir: t.TempDir()})
	require.NoError(t, s.Append(payloads(0, 3, 10)...))
	recs := readAll(t, s)
	for _, pos := range []Position{
		{Segment: recs[0].Pos.Segment, Offset: recs[0].Pos.Offset + 1},
		{Segment: recs[0].Pos.Segment + 5, Offset: 100},
		{Segment: recs[2].Pos.Segment, Offset: recs[2].Pos.Offset + 18},
	} {
		require.ErrorIs(t, s.Ack(pos), ErrInvalidPosition)
	}
	require.Equal(t, 3, s.Len())
}

func TestReopen(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		segSize int64
		ack     int // records acknowledged before Close; 0: none
	}{
		{"no ack redelivers everything", 0, 0},
		{"resume from cursor", 0, 4},
		{"everything acknowledged", 0, 20},
		{"no ack across segments", 500, 0},
		{"cursor in a later segment", 500, 13},
		{"cursor at a segment end", 500, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			want := payloads(0, 20, 40) // 48 bytes on disk: 10 per 500-byte segment
			s := openSpool(t, Options{Dir: dir, SegmentBytes: tc.segSize})
			require.NoError(t, s.Append(want...))
			recs := readAll(t, s)
			if tc.ack > 0 {
				require.NoError(t, s.Ack(recs[tc.ack-1].Pos))
			}
			require.NoError(t, s.Close())

			logs := &testenv.LogBuffer{}
			s2 := openSpool(t, Options{Dir: dir, SegmentBytes: tc.segSize, Logger: testLogger(logs)})
			require.Equal(t, len(want)-tc.ack, s2.Len())
			require.Equal(t, diskBytes(want[tc.ack:]), s2.Bytes())
			got := readAll(t, s2)
			require.Equal(t, want[tc.ack:], dataOf(got))
			if tc.ack == 0 {
				require.Contains(t, logs.String(), "no cursor file")
			} else {
				require.NotContains(t, logs.String(), "WARN")
			}
			// Appending after reopen continues the order.
			require.NoError(t, s2.Append([]byte("after reopen")))
			got = readAll(t, s2)
			require.Equal(t, "after reopen", string(got[len(got)-1].Data))
		})
	}
}

func TestCursorFileDamage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		damage  func(path string) error
		wantLog string
	}{
		{"missing", os.Remove, "no cursor file"},
		{"flipped byte", func(p string) error { return flipByte(p, 10) }, "corrupt cursor file"},
		{"truncated", func(p string) error { return os.Truncate(p, 5) }, "corrupt cursor file"},
		{"empty", func(p string) error { return os.Truncate(p, 0) }, "corrupt cursor file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			want := payloads(0, 10, 40)
			s := openSpool(t, Options{Dir: dir})
			require.NoError(t, s.Append(want...))
			recs := readAll(t, s)
			require.NoError(t, s.Ack(recs[5].Pos))
			require.NoError(t, s.Close())
			require.NoError(t, tc.damage(filepath.Join(dir, cursorName)))

			logs := &testenv.LogBuffer{}
			s2 := openSpool(t, Options{Dir: dir, Logger: testLogger(logs)})
			require.Equal(t, want, dataOf(readAll(t, s2)), "redelivered from the oldest segment")
			require.Contains(t, logs.String(), "level=WARN")
			require.Contains(t, logs.String(), tc.wantLog)
		})
	}
}

func flipByte(path string, off int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		return err
	}
	b[0] ^= 0x5a
	_, err = f.WriteAt(b, off)
	return err
}

func appendBytes(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Write(b)
	return err
}

func TestTornTail(t *testing.T) {
	t.Parallel()
	const n, size = 5, 100
	// start is the offset of the last record, end the file size.
	for _, tc := range []struct {
		name     string
		damage   func(path string, start, end int64) error
		dropped  int   // records lost
		cutBytes int64 // bytes the warning reports, from the last record's start
	}{
		{"header 1 byte", func(p string, s, _ int64) error { return os.Truncate(p, s+1) }, 1, 1},
		{"header 7 bytes", func(p string, s, _ int64) error { return os.Truncate(p, s+7) }, 1, 7},
		{"header only", func(p string, s, _ int64) error { return os.Truncate(p, s+8) }, 1, 8},
		{"payload 1 byte", func(p string, s, _ int64) error { return os.Truncate(p, s+9) }, 1, 9},
		{"payload all but 1 byte", func(p string, _, e int64) error { return os.Truncate(p, e-1) }, 1, 8 + size - 1},
		{"flipped payload byte", func(p string, _, e int64) error { return flipByte(p, e-10) }, 1, 8 + size},
		{"flipped checksum byte", func(p string, s, _ int64) error { return flipByte(p, s+5) }, 1, 8 + size},
		{"flipped length byte", func(p string, s, _ int64) error { return flipByte(p, s) }, 1, 8 + size},
		{"zeros after the last record", func(p string, _, _ int64) error { return appendBytes(p, make([]byte, 300)) }, 0, 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			want := payloads(0, n, size)
			s := openSpool(t, Options{Dir: dir, Sync: SyncAlways})
			require.NoError(t, s.Append(want...))
			recs := readAll(t, s)
			require.NoError(t, s.Close())
			last := recs[n-1].Pos
			path := filepath.Join(dir, segName(last.Segment))
			start := last.Offset - recHeaderSize - size
			require.NoError(t, tc.damage(path, start, last.Offset))

			logs := &testenv.LogBuffer{}
			s2 := openSpool(t, Options{Dir: dir, Logger: testLogger(logs)})
			kept := want[:n-tc.dropped]
			require.Equal(t, len(kept), s2.Len())
			require.Equal(t, kept, dataOf(readAll(t, s2)))
			out := logs.String()
			require.Contains(t, out, "level=WARN")
			require.Contains(t, out, "torn tail")
			require.Contains(t, out, "file="+path)
			cut := start
			if tc.dropped == 0 {
				cut = last.Offset
			}
			require.Contains(t, out, fmt.Sprintf("offset=%d", cut))
			require.Contains(t, out, fmt.Sprintf("bytes_dropped=%d", tc.cutBytes))
			require.NotContains(t, out, "level=ERROR")
			fi, err := os.Stat(path)
			require.NoError(t, err)
			require.Equal(t, cut, fi.Size(), "tail truncated")

			more := payloads(100, 3, 30)
			require.NoError(t, s2.Append(more...))
			all := append(append([][]byte{}, kept...), more...)
			require.Equal(t, all, dataOf(readAll(t, s2)))
			require.NoError(t, s2.Close())

			logs = &testenv.LogBuffer{}
			s3 := openSpool(t, Options{Dir: dir, Logger: testLogger(logs)})
			require.Equal(t, all, dataOf(readAll(t, s3)))
			require.NotContains(t, logs.String(), "torn", "the repair is durable")
		})
	}
}

func TestTornSegmentHeader(t *testing.T) {
	t.Parallel()
	for _, content := range []string{"", "RA", "RASP\x01\x00", "\x00\x00\x00"} {
		t.Run(fmt.Sprintf("%q", content), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, segName(1))
			require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
			s := openSpool(t, Options{Dir: dir})
			require.Zero(t, s.Len())
			require.NoError(t, s.Append([]byte("hello")))
			require.Equal(t, "hello", string(readAll(t, s)[0].Data))
			require.Equal(t, []string{path}, segFiles(t, dir))
		})
	}
}

func TestForeignSegmentSetAside(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openSpool(t, Options{Dir: dir, SegmentBytes: 160})
	want := payloads(0, 6, 40) // 3 records per segment
	require.NoError(t, s.Append(want...))
	require.NoError(t, s.Close())
	first := filepath.Join(dir, segName(1))
	require.NoError(t, os.WriteFile(first, []byte("this is not a spool segment"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("left alone"), 0o600))

	logs := &testenv.LogBuffer{}
	s2 := openSpool(t, Options{Dir: dir, SegmentBytes: 160, Logger: testLogger(logs)})
	require.Equal(t, want[3:], dataOf(readAll(t, s2)))
	require.Contains(t, logs.String(), "level=ERROR")
	require.FileExists(t, first+corruptSuffix)
	require.FileExists(t, filepath.Join(dir, "notes.txt"))
}

// TestCorruptionInTheMiddle checks the documented rule: the records before
// a corrupt one are kept, it and the rest of its segment are skipped with
// an error log, later segments are intact, and the spool keeps working.
func TestCorruptionInTheMiddle(t *testing.T) {
	t.Parallel()
	const size = 40 // 48 bytes on disk, 4 per 200-byte segment
	type damage struct {
		record int // index of the record damaged
		at     func(start int64) int64
	}
	payloadByte := func(start int64) int64 { return start + recHeaderSize + 3 }
	lengthByte := func(start int64) int64 { return start + 3 } // length > 16 MiB
	for _, tc := range []struct {
		name    string
		segSize int64
		n       int
		damage  damage
		ack     int // records acknowledged before the damage
		want    []int
		// keptFile: the damaged segment still holds unacknowledged records,
		// so it stays on disk (the bad bytes with it, for a post-mortem).
		keptFile bool
	}{
		{"sealed segment payload", 200, 12, damage{5, payloadByte}, 0, []int{0, 1, 2, 3, 4, 8, 9, 10, 11}, true},
		{"sealed segment length", 200, 12, damage{5, lengthByte}, 0, []int{0, 1, 2, 3, 4, 8, 9, 10, 11}, true},
		{"sealed segment last record", 200, 12, damage{7, payloadByte}, 0, []int{0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11}, true},
		{"first record", 200, 12, damage{0, payloadByte}, 0, []int{4, 5, 6, 7, 8, 9, 10, 11}, false},
		{"last segment payload", 0, 6, damage{2, payloadByte}, 0, []int{0, 1}, true},
		{"last segment length", 0, 6, damage{2, lengthByte}, 0, []int{0, 1}, true},
		{"before the cursor", 0, 6, damage{1, payloadByte}, 3, []int{3, 4, 5}, true},
		{"right after the cursor", 0, 6, damage{3, payloadByte}, 3, []int{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			all := payloads(0, tc.n, size)
			s := openSpool(t, Options{Dir: dir, SegmentBytes: tc.segSize})
			require.NoError(t, s.Append(all...))
			recs := readAll(t, s)
			if tc.ack > 0 {
				require.NoError(t, s.Ack(recs[tc.ack-1].Pos))
			}
			require.NoError(t, s.Close())
			bad := recs[tc.damage.record].Pos
			start := bad.Offset - recHeaderSize - size
			path := filepath.Join(dir, segName(bad.Segment))
			require.NoError(t, flipByte(path, tc.damage.at(start)))

			logs := &testenv.LogBuffer{}
			s2 := openSpool(t, Options{Dir: dir, SegmentBytes: tc.segSize, Logger: testLogger(logs)})
			want := make([][]byte, 0, len(tc.want))
			for _, i := range tc.want {
				want = append(want, all[i])
			}
			require.Equal(t, len(want), s2.Len())
			require.Equal(t, diskBytes(want), s2.Bytes())
			got := readAll(t, s2)
			require.Equal(t, want, dataOf(got))
			out := logs.String()
			if tc.ack > tc.damage.record {
				require.NotContains(t, out, "level=ERROR", "acknowledged damage is only a warning")
				require.Contains(t, out, "acknowledged part")
			} else {
				require.Contains(t, out, "level=ERROR")
				require.Contains(t, out, "CORRUPT")
				require.Contains(t, out, "file="+path)
				require.Contains(t, out, fmt.Sprintf("offset=%d", start))
			}
			if tc.keptFile {
				require.FileExists(t, path, "a corrupt segment is kept until acknowledged")
			} else {
				require.NoFileExists(t, path, "nothing left to deliver in it")
			}

			// The spool keeps working: appends come after the survivors,
			// and acknowledging everything removes the damaged segment.
			more := payloads(100, 3, size)
			require.NoError(t, s2.Append(more...))
			got = readAll(t, s2)
			require.Equal(t, append(want, more...), dataOf(got))
			require.NoError(t, s2.Ack(got[len(got)-1].Pos))
			require.Zero(t, s2.Len())
			require.Len(t, segFiles(t, dir), 1)
			require.NoError(t, s2.Close())

			s3 := openSpool(t, Options{Dir: dir, SegmentBytes: tc.segSize})
			require.Zero(t, s3.Len())
		})
	}
}

// TestCorruptionSeenByRead damages a record after Open: Read applies the
// same rule as Open instead of failing forever.
func TestCorruptionSeenByRead(t *testing.T) {
	t.Parallel()
	for _, sealed := range []bool{true, false} {
		t.Run(fmt.Sprintf("sealed=%v", sealed), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			logs := &testenv.LogBuffer{}
			const size = 40
			s := openSpool(t, Options{Dir: dir, SegmentBytes: 200, Logger: testLogger(logs)})
			all := payloads(0, 6, size) // segments of 4 and 2 records
			require.NoError(t, s.Append(all...))
			victim := 1 // in the sealed first segment
			if !sealed {
				victim = 4 // first record of the active segment
			}
			recs, err := s.Read(victim) // before the damage
			require.NoError(t, err)
			require.Len(t, recs, victim)
			var pos Position
			{
				full := readAll(t, s)
				pos = full[victim].Pos
			}
			path := filepath.Join(dir, segName(pos.Segment))
			require.NoError(t, flipByte(path, pos.Offset-5))

			got := readAll(t, s)
			want := [][]byte{all[0]}
			if !sealed {
				want = all[:4]
			} else {
				want = append(want, all[4:]...)
			}
			require.Equal(t, want, dataOf(got))
			require.Equal(t, len(want), s.Len())
			require.Contains(t, logs.String(), "CORRUPT record found while reading")

			// Appends go on (a new segment when the active one was hit).
			require.NoError(t, s.Append([]byte("later")))
			got = readAll(t, s)
			require.Equal(t, "later", string(got[len(got)-1].Data))
			require.Equal(t, len(want)+1, s.Len())
		})
	}
}

func TestFull(t *testing.T) {
	t.Parallel()
	const size = 92 // 100 bytes on disk
	for _, tc := range []struct {
		name    string
		segSize int64
	}{
		{"one segment", 0},
		{"many segments", 256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			s := openSpool(t, Options{Dir: dir, MaxBytes: 1000, SegmentBytes: tc.segSize})
			want := payloads(0, 8, size)
			require.NoError(t, s.Append(want...))
			require.Equal(t, int64(800), s.Bytes())

			require.ErrorIs(t, s.Append(payloads(8, 3, size)...), ErrFull)
			require.Equal(t, 8, s.Len(), "nothing of the refused batch is stored")
			require.Equal(t, int64(800), s.Bytes())
			require.ErrorIs(t, s.Append(payloads(8, 11, size)...), ErrFull, "batch larger than the whole spool")
			require.ErrorIs(t, s.Append(make([]byte, 993)), ErrFull)
			recs := readAll(t, s)
			require.Equal(t, want, dataOf(recs))

			require.NoError(t, s.Append(payload(8, size), payload(9, size)), "exactly full")
			require.ErrorIs(t, s.Append([]byte("x")), ErrFull)

			recs = readAll(t, s)
			require.NoError(t, s.Ack(recs[2].Pos))
			more := payloads(10, 3, size)
			require.NoError(t, s.Append(more...), "acknowledging frees space")
			got := readAll(t, s)
			require.Equal(t, append(want[3:], append(payloads(8, 2, size), more...)...), dataOf(got))
			require.Equal(t, int64(1000), s.Bytes())
			require.NoError(t, s.Close())

			s2 := openSpool(t, Options{Dir: dir, MaxBytes: 1000, SegmentBytes: tc.segSize})
			require.Equal(t, int64(1000), s2.Bytes(), "the bound holds across reopen")
			require.ErrorIs(t, s2.Append([]byte("x")), ErrFull)
		})
	}
}

func TestInvalidRecord(t *testing.T) {
	t.Parallel()
	s := openSpool(t, Options{Dir: t.TempDir()})
	for name, batch := range map[string][][]byte{
		"empty":          {[]byte("ok"), {}},
		"nil":            {nil},
		"over 16 MiB":    {[]byte("ok"), make([]byte, MaxRecordBytes+1)},
		"empty in front": {{}, []byte("ok")},
	} {
		t.Run(name, func(t *testing.T) {
			require.ErrorIs(t, s.Append(batch...), ErrInvalidRecord)
			require.Zero(t, s.Len())
		})
	}
	require.NoError(t, s.Append(make([]byte, MaxRecordBytes)), "exactly 16 MiB is allowed")
	require.NoError(t, s.Append())
	require.Equal(t, 1, s.Len())
}

func TestClosed(t *testing.T) {
	t.Parallel()
	for _, policy := range []SyncPolicy{SyncBatch, SyncAlways, SyncNever} {
		t.Run(policy.String(), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			s, err := Open(Options{Dir: dir, Sync: policy, Logger: slog.New(slog.DiscardHandler)})
			require.NoError(t, err)
			require.NoError(t, s.Append([]byte("kept")))
			require.NoError(t, s.Close())
			require.NoError(t, s.Close(), "idempotent")
			require.ErrorIs(t, s.Append([]byte("x")), ErrClosed)
			require.ErrorIs(t, s.Append(), ErrClosed)
			_, err = s.Read(1)
			require.ErrorIs(t, err, ErrClosed)
			require.ErrorIs(t, s.Ack(Position{Segment: 1, Offset: 20}), ErrClosed)
			require.ErrorIs(t, s.Sync(), ErrClosed)
			require.Equal(t, 1, s.Len())

			s2 := openSpool(t, Options{Dir: dir})
			require.Equal(t, "kept", string(readAll(t, s2)[0].Data))
		})
	}
}

func TestOpenOptions(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string]Options{
		"no dir":            {},
		"negative segment":  {Dir: t.TempDir(), SegmentBytes: -1},
		"negative max":      {Dir: t.TempDir(), MaxBytes: -1},
		"unknown policy":    {Dir: t.TempDir(), Sync: SyncPolicy(7)},
		"negative interval": {Dir: t.TempDir(), SyncInterval: -time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Open(opts)
			require.Error(t, err)
		})
	}
}

// TestSyncBatchTimer checks that the timer fsyncs and that Close stops it.
func TestSyncBatchTimer(t *testing.T) {
	t.Parallel()
	s := openSpool(t, Options{Dir: t.TempDir(), SyncInterval: time.Millisecond, SyncEvery: 4})
	for i := range 20 {
		require.NoError(t, s.Append(payload(i, 10)))
	}
	require.NoError(t, s.Append(payloads(20, 4, 10)...)) // SyncEvery
	require.Eventually(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return !s.dirty
	}, testenv.Patience, time.Millisecond)
	require.NoError(t, s.Close())
	select {
	case <-s.done:
	default:
		t.Fatal("sync goroutine still running after Close")
	}
}

// TestConcurrentWriterReader runs the sink's pattern: one goroutine
// appends while another reads and acknowledges, across many rollovers.
func TestConcurrentWriterReader(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openSpool(t, Options{Dir: dir, SegmentBytes: 16 << 10, SyncInterval: time.Millisecond})
	const total = 20000
	writerErr := make(chan error, 1)
	go func() {
		defer close(writerErr)
		for i := 0; i < total; {
			n := min(1+i%7, total-i)
			batch := make([][]byte, n)
			for j := range batch {
				batch[j] = payload(i+j, 20+(i+j)%300)
			}
			if err := s.Append(batch...); err != nil {
				writerErr <- err
				return
			}
			i += n
		}
	}()
	next := 0
	deadline := time.Now().Add(testenv.Patience)
	for next < total {
		require.True(t, time.Now().Before(deadline), "reader stalled at %d", next)
		recs, err := s.Read(512)
		require.NoError(t, err)
		for _, r := range recs {
			require.Equal(t, payload(next, 20+next%300), r.Data, "record %d", next)
			next++
		}
		if len(recs) > 0 {
			require.NoError(t, s.Ack(recs[len(recs)-1].Pos))
		}
		if len(recs) < 64 {
			time.Sleep(time.Millisecond) // let a batch build up, as the drainer would
		}
	}
	require.NoError(t, <-writerErr)
	require.Zero(t, s.Len())
	require.Zero(t, s.Bytes())
	require.LessOrEqual(t, len(segFiles(t, dir)), 2)
	recs, err := s.Read(10)
	require.NoError(t, err)
	require.Empty(t, recs)
}

func TestErrorsWrapContext(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	_, err := Open(Options{Dir: filepath.Join(file, "sub")})
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), "spool: open "), err.Error())
	require.False(t, errors.Is(err, ErrFull))
}

// TestCursorPlacement covers cursors Open cannot take as they are: one
// inside a record (redeliver from that record) and one past the valid data,
// as after a power loss that kept the cursor but lost unsynced records.
func TestCursorPlacement(t *testing.T) {
	t.Parallel()
	const size = 40 // 48 bytes on disk
	for _, tc := range []struct {
		name    string
		offset  int64
		want    int // index of the first record delivered
		wantLog string
	}{
		{"inside the third record", segHeaderSize + 2*48 + 5, 2, "not at a record boundary"},
		{"on the third record", segHeaderSize + 2*48, 2, ""},
		{"past the end", 1 << 20, 5, "beyond the valid records"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			all := payloads(0, 5, size)
			s := openSpool(t, Options{Dir: dir})
			require.NoError(t, s.Append(all...))
			require.NoError(t, s.Close())
			require.NoError(t, os.WriteFile(filepath.Join(dir, cursorName),
				encodeCursor(Position{Segment: 1, Offset: tc.offset}), 0o600))

			logs := &testenv.LogBuffer{}
			s2 := openSpool(t, Options{Dir: dir, Logger: testLogger(logs)})
			require.Equal(t, all[tc.want:], dataOf(readAll(t, s2)))
			require.Equal(t, 5-tc.want, s2.Len())
			if tc.wantLog != "" {
				require.Contains(t, logs.String(), tc.wantLog)
			} else {
				require.NotContains(t, logs.String(), "WARN")
			}
			require.NoError(t, s2.Append([]byte("next")))
			got := readAll(t, s2)
			require.Equal(t, "next", string(got[len(got)-1].Data))
			require.NoError(t, s2.Ack(got[len(got)-1].Pos))
			require.Zero(t, s2.Len())
		})
	}
}
