package storetest

import (
	"testing"
	"time"

	"github.com/riskauth/riskauth/authn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testFlowClients(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	c := authn.FlowClient{FlowID: "flow-1", IP: "198.51.100.7", UserAgent: "Mozilla/5.0 test", Location: "Paris, FR",
		At: t0, ExpiresAt: t0.Add(15 * time.Minute)}
	require.NoError(t, s.SaveFlowClient(ctx, c))
	got, err := s.FlowClient(ctx, "flow-1", t0.Add(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, c, got)

	// A later code request of the same flow replaces it.
	c2 := c
	c2.IP, c2.Location, c2.At = "203.0.113.9", "", t0.Add(2*time.Minute)
	require.NoError(t, s.SaveFlowClient(ctx, c2))
	got, err = s.FlowClient(ctx, "flow-1", t0.Add(3*time.Minute))
	require.NoError(t, err)
	assert.Equal(t, c2, got)

	tests := []struct {
		name string
		id   string
		now  time.Time
	}{
		{"unknown flow", "flow-2", t0},
		{"expired", "flow-1", t0.Add(15 * time.Minute)},
	}
	for _, tc := range tests {
		_, err := s.FlowClient(ctx, tc.id, tc.now)
		assert.ErrorIs(t, err, authn.ErrNotFound, tc.name)
	}
	n, err := s.DeleteExpired(ctx, t0.Add(time.Hour), 0)
	require.NoError(t, err)
	assert.Equal(t, int64(1), n, "swept with the expired rows")
}
