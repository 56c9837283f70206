//go:build unix

package store_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/codemetrics/codemetrics/backend/internal/store"
	"github.com/codemetrics/codemetrics/backend/internal/testenv"
)

// TestSQLiteFilesArePrivate: the database holds token metadata, sessions and the audit log, so
// its file (and the -wal and -shm files beside it) is created readable by its owner only, like
// the signing key file, whatever the umask would give.
func TestSQLiteFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0o022) // the usual umask, under which the driver alone creates 0644
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "data", "codemetrics.db")
	testenv.Store(t, testenv.DB{Driver: store.SQLite, DSN: path}) // open until the test ends
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(p), err)
			continue
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s has mode %o, want 600", filepath.Base(p), mode)
		}
	}
}
