//go:build !linux

package registry

import "os"

// fingerprint identifies a file's content cheaply: a rescan re-reads a file
// only when its fingerprint moved (the periodic full resync reads them all).
type fingerprint struct {
	size  uint64
	mtime int64
}

func statFingerprint(path string) (fingerprint, bool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fingerprint{}, false, err
	}
	return fingerprint{size: uint64(fi.Size()), mtime: fi.ModTime().UnixNano()}, fi.Mode().IsRegular(), nil
}
