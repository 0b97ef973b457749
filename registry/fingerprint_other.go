//go:build !linux

package registry

import (
	"os"
	"time"
)

// fingerprint identifies a file's content cheaply: a rescan re-reads a file
// only when its fingerprint moved.
type fingerprint struct {
	size    uint64
	mt      time.Time
	regular bool
}

// mtime is the file's modification time.
func (fp fingerprint) mtime() time.Time { return fp.mt }

func statFingerprint(path string) (fingerprint, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fingerprint{}, err
	}
	return fingerprint{size: uint64(fi.Size()), mt: fi.ModTime(), regular: fi.Mode().IsRegular()}, nil
}
