package velocity

import (
	"sync"

	"github.com/bits-and-blooms/bloom/v3"
)

// knownUsers answers "may this user have a stored profile?" without a
// database read: a scalable Bloom filter (Almeida et al., 2007) of the
// users SQLiteProfiles has written. A credential-stuffing list is mostly
// identifiers that never signed in; without it each of them would cost a
// SQLite query and, cached as "no profile", push a real user's profile out
// of the cache. A false positive costs only that query (at most about 2 %
// of unknown users); there are no false negatives, so a stored profile is
// always read.
//
// It starts as one filter sized for the profiles on disk (at least
// minKnownUsers); when the newest filter has taken its capacity, a filter
// twice as large with half the false-positive rate is added, so the
// combined rate stays under twice the first one's, without a rebuild.
// Memory: about 1.2 MB per million users (9.6 bits each at 1 %).
type knownUsers struct {
	mu      sync.RWMutex
	filters []*bloom.BloomFilter
	n       uint    // users added to the newest filter
	size    uint    // the newest filter's capacity
	fp      float64 // the newest filter's false-positive rate
}

const (
	minKnownUsers = 1 << 20
	knownUsersFP  = 0.01
)

func newKnownUsers(expected uint) *knownUsers {
	k := &knownUsers{}
	k.grow(max(expected, minKnownUsers), knownUsersFP)
	return k
}

func (k *knownUsers) grow(size uint, fp float64) {
	k.filters = append(k.filters, bloom.NewWithEstimates(size, fp))
	k.n, k.size, k.fp = 0, size, fp
}

// mayContain reports false only for a user never added.
func (k *knownUsers) mayContain(user string) bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	for i := len(k.filters) - 1; i >= 0; i-- {
		if k.filters[i].TestString(user) {
			return true
		}
	}
	return false
}

// add records that user has a stored profile. Most calls are for users
// already there (every sign-in writes the profile) and take only the read
// lock.
func (k *knownUsers) add(user string) {
	if k.mayContain(user) {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.n >= k.size {
		k.grow(2*k.size, k.fp/2)
	}
	if !k.filters[len(k.filters)-1].TestAndAddString(user) {
		k.n++
	}
}
