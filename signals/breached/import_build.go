package breached

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
)

type spillRec struct {
	key   uint64
	count uint32
}

func (im *importer) build(ctx context.Context) (Stats, error) {
	im.progress(Progress{Phase: PhaseRead, Bytes: im.stats.Bytes, Lines: im.lines})
	var total int64
	for i := range im.counts {
		total += im.counts[i]
	}
	out, err := createAtomic(im.out)
	if err != nil {
		return im.stats, err
	}
	committed := false
	defer func() {
		if !committed {
			out.abort()
		}
	}()

	var (
		hdr       fileHeader
		tw        *tableWriter
		fw        *filterWriter
		shardBits uint
		keys      []uint64
		recs      []spillRec
		raw       []byte
	)
	if im.opts.Format == FormatTable {
		tw = newTableWriter(out)
	} else {
		for shardBits < maxShardBits && total>>shardBits > shardTarget {
			shardBits++
		}
		fw = newFilterWriter(out, uint(im.opts.FingerprintBits), shardBits)
		im.stats.ShardBits = int(shardBits)
	}
	perShard := 1 << (spillBits - shardBits)
	for b := range im.counts {
		if err := ctx.Err(); err != nil {
			return im.stats, err
		}
		raw, recs, err = im.readBucket(b, raw, recs)
		if err != nil {
			return im.stats, err
		}
		if tw != nil {
			for _, r := range recs {
				if err := tw.add(r.key, r.count); err != nil {
					return im.stats, err
				}
			}
		} else {
			for i, r := range recs {
				if i > 0 && r.key == recs[i-1].key {
					im.stats.Duplicates++
					continue
				}
				keys = append(keys, r.key)
			}
			if (b+1)%perShard == 0 {
				if err := fw.addShard(keys); err != nil {
					return im.stats, err
				}
				keys = keys[:0]
			}
		}
		im.progress(Progress{Phase: PhaseBuild, Bytes: im.stats.Bytes, Lines: im.lines, Done: b + 1, Total: len(im.counts)})
	}
	if tw != nil {
		hdr, err = tw.finish(im.opts.MinCount)
		im.stats.Duplicates = tw.dups
	} else {
		hdr, err = fw.finish(im.opts.MinCount, shardBits)
	}
	if err != nil {
		return im.stats, err
	}
	if err := ctx.Err(); err != nil {
		return im.stats, err
	}
	size, err := out.commit(&hdr)
	if err != nil {
		return im.stats, err
	}
	committed = true
	im.stats.Entries = hdr.entries
	im.stats.OutputBytes = size
	return im.stats, nil
}

// readBucket loads one bucket (spilled chunks plus the unflushed buffer)
// into recs, sorted by key, reusing the buffers.
func (im *importer) readBucket(b int, raw []byte, recs []spillRec) ([]byte, []spillRec, error) {
	n := int(im.counts[b])
	raw = slices.Grow(raw[:0], n*12)
	for _, c := range im.chunks[b] {
		start := len(raw)
		raw = raw[:start+int(c.n)]
		if _, err := im.spill.ReadAt(raw[start:], c.off); err != nil {
			return raw, recs, fmt.Errorf("read spill file: %w", err)
		}
	}
	raw = append(raw, im.bufs[b]...)
	im.bufs[b], im.chunks[b] = nil, nil
	if len(raw) != n*12 {
		return raw, recs, fmt.Errorf("spill bucket %d: %d bytes, want %d", b, len(raw), n*12)
	}
	recs = slices.Grow(recs[:0], n)[:n]
	radixSort(raw, recs, &im.radix)
	return raw, recs, nil
}

// radixSort decodes the 12-byte spill records in raw into recs sorted by
// key. The keys of one bucket share their top spillBits bits and are
// uniformly distributed below them, so one counting-sort pass on the next
// r bits (about n/4 groups) leaves groups of a few records that insertion
// sort finishes: linear time, no comparisons to speak of.
func radixSort(raw []byte, recs []spillRec, counts *[]uint32) {
	n := len(recs)
	r := 1
	for r < 20 && 1<<r < n/4 {
		r++
	}
	shift := uint(64 - spillBits - r)
	mask := uint64(1)<<r - 1
	cnt := slices.Grow((*counts)[:0], 1<<r+1)[:1<<r+1]
	clear(cnt)
	for i := 0; i < n; i++ {
		k := binary.LittleEndian.Uint64(raw[i*12:])
		cnt[(k>>shift&mask)+1]++
	}
	for i := 1; i < len(cnt); i++ {
		cnt[i] += cnt[i-1]
	}
	pos := cnt[:1<<r] // pos[g] = next free slot of group g (cnt[g+1] stays the group end)
	for i := 0; i < n; i++ {
		k := binary.LittleEndian.Uint64(raw[i*12:])
		g := k >> shift & mask
		recs[pos[g]] = spillRec{key: k, count: binary.LittleEndian.Uint32(raw[i*12+8:])}
		pos[g]++
	}
	// After the scatter pos[g] is the end of group g, i.e. the start of g+1.
	start := uint32(0)
	for g := range pos {
		end := pos[g]
		insertionSort(recs[start:end])
		start = end
	}
	*counts = cnt
}

func insertionSort(a []spillRec) {
	for i := 1; i < len(a); i++ {
		x := a[i]
		j := i
		for j > 0 && a[j-1].key > x.key {
			a[j] = a[j-1]
			j--
		}
		a[j] = x
	}
}
