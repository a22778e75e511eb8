package store

import "time"

// refusedAt is when a refused reservation (ReserveEvent over its limit)
// records its event, and when that record expires: the Unix epoch, before
// any window a count ever looks at. So a refusal writes what a grant
// writes — the same statements, one row, the same indexes — and is not
// told apart by its cost (issue 17, item 4), yet no count sees it,
// whatever its window or an instance's clock, and the next sweep deletes
// it. A refusal that counted would, under a flood, hold the cap shut for
// as long as the flood lasted.
func refusedAt() (at, expires time.Time) {
	epoch := time.Unix(0, 0).UTC()
	return epoch, epoch
}
