package velocity

// keyIndex maps 64-bit key hashes to slot numbers: an open-addressing table
// with linear probing and backward-shift deletion. Go's built-in map leaves
// tombstones behind on delete, and under the constant insert/evict churn of
// a full LRU (a flood of new keys) its probe sequences grow until lookups
// dominate the profile; this table has no tombstones and no pointers, and a
// key and its value share a cache line.
type keyIndex struct {
	cells []cell
	mask  uint64
	n     int
	// maxLoad is the fill limit in quarters of the table: 3 for evenly
	// spread keys, 2 for clustered ones (see newClusteredKeyIndex).
	maxLoad int
}

// cell is one entry; k == 0 marks an empty cell (stored keys are never 0).
type cell struct {
	k uint64
	v int32
}

// newKeyIndex returns an index for evenly spread keys, kept at most three
// quarters full.
func newKeyIndex() keyIndex {
	return keyIndex{cells: make([]cell, 16), mask: 15, maxLoad: 3}
}

// newClusteredKeyIndex returns an index kept at most half full, for keys
// whose home cells are adjacent on purpose (a key value's counters, see
// Memory.counterKey): linear probing through such clusters gets long
// quickly above half load, above all for the misses a flood of new keys
// makes. At the default MaxKeys the counter index is under half full
// either way, so this costs no memory there.
func newClusteredKeyIndex() keyIndex {
	return keyIndex{cells: make([]cell, 16), mask: 15, maxLoad: 2}
}

// fixKey maps the one reserved value onto another key.
func fixKey(k uint64) uint64 {
	if k == 0 {
		return 1
	}
	return k
}

func (x *keyIndex) get(k uint64) (int32, bool) {
	k = fixKey(k)
	for i := k & x.mask; ; i = (i + 1) & x.mask {
		c := &x.cells[i]
		switch c.k {
		case k:
			return c.v, true
		case 0:
			return 0, false
		}
	}
}

// put inserts or replaces k, growing the table beyond its fill limit.
func (x *keyIndex) put(k uint64, v int32) {
	if (x.n+1)*4 > len(x.cells)*x.maxLoad {
		x.grow()
	}
	k = fixKey(k)
	for i := k & x.mask; ; i = (i + 1) & x.mask {
		c := &x.cells[i]
		switch c.k {
		case k:
			c.v = v
			return
		case 0:
			*c = cell{k, v}
			x.n++
			return
		}
	}
}

// del removes k, shifting later entries of its probe run back so that no
// lookup ever needs to skip a hole.
func (x *keyIndex) del(k uint64) {
	k = fixKey(k)
	i := k & x.mask
	for x.cells[i].k != k {
		if x.cells[i].k == 0 {
			return
		}
		i = (i + 1) & x.mask
	}
	for j := (i + 1) & x.mask; x.cells[j].k != 0; j = (j + 1) & x.mask {
		home := x.cells[j].k & x.mask
		// The entry at j may move to the hole at i when i lies on its
		// probe path, i.e. no farther from j than its home is.
		if (j-home)&x.mask >= (j-i)&x.mask {
			x.cells[i] = x.cells[j]
			i = j
		}
	}
	x.cells[i] = cell{}
	x.n--
}

func (x *keyIndex) grow() {
	old := x.cells
	size := 2 * len(old)
	*x = keyIndex{cells: make([]cell, size), mask: uint64(size - 1), maxLoad: x.maxLoad}
	for _, c := range old {
		if c.k != 0 {
			x.put(c.k, c.v)
		}
	}
}

func (x *keyIndex) len() int { return x.n }
