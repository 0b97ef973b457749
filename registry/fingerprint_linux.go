package registry

import (
	"io/fs"
	"syscall"
)

// fingerprint identifies a file's content cheaply: a rescan re-reads a file
// only when its fingerprint moved (the periodic full resync reads them all).
type fingerprint struct {
	ino, size    uint64
	mtime, ctime int64
}

func fingerprintOf(fi fs.FileInfo) fingerprint {
	fp := fingerprint{size: uint64(fi.Size()), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		fp.ino = st.Ino
		fp.ctime = st.Ctim.Nano()
	}
	return fp
}
