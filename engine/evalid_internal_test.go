package engine

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewEvaluationID(t *testing.T) {
	seen := map[string]bool{}
	for _, at := range []time.Time{time.Unix(1_764_400_000, 123_456_789), time.Unix(0, 0), time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)} {
		for range 1000 {
			id := newEvaluationID(at)
			require.False(t, seen[id], "duplicate %s", id)
			seen[id] = true
			u, err := uuid.Parse(id)
			require.NoError(t, err)
			assert.Equal(t, id, u.String(), "canonical lower-case form")
			assert.Equal(t, uuid.Version(7), u.Version())
			assert.Equal(t, uuid.RFC4122, u.Variant())
			sec, nsec := u.Time().UnixTime()
			assert.Equal(t, at.UnixMilli(), sec*1000+nsec/1_000_000, "timestamp is the evaluation's start")
		}
	}
}

func BenchmarkEvaluationID(b *testing.B) {
	at := time.Now()
	b.Run("newEvaluationID", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = newEvaluationID(at)
		}
	})
	b.Run("google-uuid-NewV7", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = uuid.Must(uuid.NewV7()).String()
		}
	})
}
