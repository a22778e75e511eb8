package secretfile

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// MinLength is the shortest secret Secret accepts from a file: 32
// characters, what a generated one (256 bits in base64) always has.
const MinLength = 32

// Secret returns configured when set; otherwise the secret kept in file,
// generating a random one (256 bits) there on first use. A file holding a
// shorter secret is an error that says how to recover, not a weak key.
func Secret(configured, file string, log *slog.Logger) (string, error) {
	if configured != "" {
		return configured, nil
	}
	s, err := LoadOrGenerate(file, func() string { return RandomBase64(32) }, log, "generated a secret")
	if err != nil {
		return "", err
	}
	if len(s) < MinLength {
		return "", fmt.Errorf("%s: secret is too short, delete the file to regenerate it", file)
	}
	return s, nil
}

// LoadOrGenerate returns the trimmed content of file; when there is no
// file it writes generate()'s value there (0600) and logs msg with the
// file's name (never its content), so the operator learns where the
// generated value lives.
func LoadOrGenerate(file string, generate func() string, log *slog.Logger, msg string) (string, error) {
	b, err := os.ReadFile(file)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	v := generate()
	if err := os.WriteFile(file, []byte(v+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", file, err)
	}
	log.Info(msg, "file", file)
	return v, nil
}

// RandomBase64 is n random bytes in unpadded URL base64: text that fits a
// file, an environment variable and a YAML value unquoted.
func RandomBase64(n int) string {
	raw := make([]byte, n)
	_, _ = rand.Read(raw)
	return base64.RawURLEncoding.EncodeToString(raw)
}
