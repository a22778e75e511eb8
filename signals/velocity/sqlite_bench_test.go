package velocity

import (
	"context"
	"strconv"
	"testing"

	"github.com/riskauth/riskauth/engine"
)

// BenchmarkSQLiteGet reads profiles the way Load does: "known" cycles
// through 10,000 users with a profile, all cached; "stuffing" asks for an
// identifier never seen before every time, as a credential-stuffing list
// does.
//
//	go test ./signals/velocity -run '^$' -bench SQLiteGet -benchmem
func BenchmarkSQLiteGet(b *testing.B) {
	ctx := context.Background()
	p, err := NewSQLiteProfiles(b.TempDir() + "/profiles.db")
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	const users = 10_000
	names := make([]string, users)
	for i := range names {
		names[i] = "user-" + strconv.Itoa(i)
		if err := p.Put(ctx, names[i], engine.Profile{Logins: i}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("known", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := p.Get(ctx, names[i%users]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("stuffing", func(b *testing.B) {
		buf := []byte("stuffed-")
		i := 0
		for b.Loop() {
			id := string(strconv.AppendInt(buf[:8], int64(i), 10))
			if _, err := p.Get(ctx, id); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
