//go:build !linux

package registry

import "io/fs"

// fingerprint identifies a file's content cheaply: a rescan re-reads a file
// only when its fingerprint moved (the periodic full resync reads them all).
type fingerprint struct {
	size  uint64
	mtime int64
}

func fingerprintOf(fi fs.FileInfo) fingerprint {
	return fingerprint{size: uint64(fi.Size()), mtime: fi.ModTime().UnixNano()}
}
