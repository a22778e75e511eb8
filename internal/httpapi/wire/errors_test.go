package wire

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

// body renders e as the HTTP layer sends it.
func (e *Error) body() []byte { return ErrorBody(string(e.Code), e.Message, e.Fields) }

func TestSafeText(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "attributes.ok", safeText("attributes.ok", 128))
	assert.Equal(t, "a\uFFFDb\uFFFD", safeText("a\x00b\xff", 128))
	assert.Equal(t, "abc…", safeText("abcdef", 3))
	assert.True(t, utf8.ValidString(safeText(strings.Repeat("é", 100), 7)))
}
