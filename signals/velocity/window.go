package velocity

import "time"

// numBuckets is how many buckets a window is split into.
const numBuckets = 10

// window is the bucket math of one counter, shared by both backends: the
// window is split into numBuckets buckets of length/numBuckets aligned on
// the unix epoch, and a read at time t sums the buckets index(t)-9 ..
// index(t), which are exactly those whose start lies within (t-length, t].
type window struct {
	length int64 // ns
	bucket int64 // ns
}

func newWindow(d time.Duration) window {
	return window{length: int64(d), bucket: int64(d) / numBuckets}
}

// index returns the bucket holding t.
func (w window) index(t time.Time) int64 { return floorDiv(t.UnixNano(), w.bucket) }

// oldest returns the oldest bucket a read in bucket c sums.
func oldest(c int64) int64 { return c - (numBuckets - 1) }

// ttl is how long after t the bucket idx can still be read: until its end
// plus the window. It is at most length+bucket, and <= 0 when no read at t
// or later can see the bucket any more.
func (w window) ttl(idx int64, t time.Time) time.Duration {
	end := (idx+1)*w.bucket + w.length
	return time.Duration(end - t.UnixNano())
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
