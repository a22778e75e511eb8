package store

import (
	"encoding/json"
	"fmt"
)

// Columns of the consent tables (migrations/*/0012_consents.sql).

const consentCols = `id, user_id, purpose, version, action, at, source, app, ip, user_agent, session_id`

const preferenceCols = `user_id, channels, topics, language, version, updated_at`

// encodeList stores a list of strings as a JSON array ([] for nil).
func encodeList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l) // a []string always marshals
	return string(b)
}

func decodeList(b []byte) ([]string, error) {
	var l []string
	if len(b) == 0 {
		return nil, nil
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("store: decode preference list: %w", err)
	}
	if len(l) == 0 {
		return nil, nil
	}
	return l, nil
}
