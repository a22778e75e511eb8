package store

import (
	"encoding/json"
	"fmt"
)

// Profiles are stored with their custom attributes as one JSON object
// (TEXT in SQLite, jsonb in PostgreSQL); authn checks the values against
// the declarations before any write.

const profileCols = `user_id, display_name, given_name, family_name, locale, time_zone, attributes, version, updated_at`

func encodeAttributes(m map[string]any) ([]byte, error) {
	if m == nil {
		return []byte("{}"), nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("store: encode profile attributes: %w", err)
	}
	return b, nil
}

func decodeAttributes(b []byte) (map[string]any, error) {
	m := map[string]any{}
	if len(b) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("store: decode profile attributes: %w", err)
	}
	return m, nil
}
