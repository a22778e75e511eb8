package daemon

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// maxImageBytes bounds the image: the static binary (about 39 MB without
// debug information) and the CA bundle. A base image slipping in, or the
// debug information, would pass it.
const maxImageBytes = 64 << 20

// TestContainerImage builds deploy/container's image with
// scripts/build-image.sh and checks what a deployment relies on: the
// entrypoint, a numeric non-root user, a bound on its size, and that it
// holds exactly the binary, the CA bundle and the data directory owned by
// the service user. The image cannot be run on the build machine; it is
// exported through a created (never started) container instead.
func TestContainerImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the riskauthd binary and an image: skipped with -short")
	}
	podman := testenv.Podman(t)
	tag := "localhost/riskauthd:test-" + strconv.Itoa(os.Getpid())
	script := filepath.Join(deployDir, "..", "scripts", "build-image.sh")
	cmd := exec.CommandContext(t.Context(), "bash", script, tag)
	cmd.Env = append(os.Environ(), "CONTAINER_ENGINE="+podman)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Cleanup(func() { _ = exec.Command(podman, "rmi", "-f", tag).Run() })

	info := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		k, v, _ := strings.Cut(line, " ")
		info[k] = v
	}
	assert.Equal(t, `["/usr/local/bin/riskauthd"]`, info["entrypoint"])
	assert.Equal(t, "65532:65532", info["user"], "a numeric non-root user")
	size, err := strconv.ParseInt(info["size"], 10, 64)
	require.NoError(t, err, "size in %q", out)
	assert.Less(t, size, int64(maxImageBytes), "image size")

	all := imageEntries(t, podman, tag)
	for name, owner := range all {
		if name != "var/lib/riskauth/" {
			assert.Equal(t, "0:0", owner, "%s belongs to root: the service user may write only its data dir", name)
		}
	}
	assert.Equal(t, map[string]string{
		"etc/ssl/certs/ca-certificates.crt": "0:0",
		"usr/local/bin/riskauthd":           "0:0",
		"var/lib/riskauth/":                 "65532:65532",
	}, leaves(all), "the image's files and directories that are not parents of these, with owners")
}

// imageEntries lists the image's files and directories with their
// uid:gid.
func imageEntries(t *testing.T, podman, tag string) map[string]string {
	t.Helper()
	id, err := exec.Command(podman, "create", tag).Output()
	require.NoError(t, err)
	ctr := strings.TrimSpace(string(id))
	t.Cleanup(func() { _ = exec.Command(podman, "rm", "-f", ctr).Run() })
	export := exec.Command(podman, "export", ctr)
	r, err := export.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, export.Start())
	all := map[string]string{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		all[h.Name] = strconv.Itoa(h.Uid) + ":" + strconv.Itoa(h.Gid)
	}
	require.NoError(t, export.Wait())
	return all
}

// leaves keeps the entries that are no directory holding another.
func leaves(all map[string]string) map[string]string {
	out := map[string]string{}
	for name, owner := range all {
		parent := false
		for other := range all {
			if other != name && strings.HasSuffix(name, "/") && strings.HasPrefix(other, name) {
				parent = true
				break
			}
		}
		if !parent {
			out[name] = owner
		}
	}
	return out
}
