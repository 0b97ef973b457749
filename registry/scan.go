package registry

import (
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// fileState is what the registry remembers of one provider file.
type fileState struct {
	fp           fingerprint
	hash         [32]byte
	good         *Provider // last good version, nil if the file never parsed
	codeLine     int
	idLine       int
	problems     Problems // why the current content is not in force; nil when it is
	ctFromMtime  bool     // the file has no ext.ct: good.Ext.CT follows the mtime
	lwtFromMtime bool     // the file has no ext.lwt: good.Ext.LWT follows the mtime
}

func (st *fileState) line(field string) int {
	switch field {
	case "code":
		return st.codeLine
	case "id":
		return st.idLine
	}
	return 1
}

// IsProviderFile reports whether a directory entry name is a provider file:
// *.yaml or *.yml, not hidden (".x.swp", "..data", our temp files) and not
// an editor backup ("a.yaml~").
func IsProviderFile(name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") {
		return false
	}
	ext := filepath.Ext(name)
	return ext == ".yaml" || ext == ".yml"
}

// scanResult is the outcome of looking at one file during a rescan.
type scanResult struct {
	name    string
	state   *fileState // nil: no such name in the directory any more
	changed bool       // the provider or its problems changed
}

// scanFile stats, reads and parses one file as far as needed. old may be
// nil. Only a name that is gone from the directory drops the file; a name
// that cannot be used (a dangling symlink, a symlink loop, a FIFO, no read
// permission) keeps the last good version and reports why. With full false
// a file whose fingerprint is unchanged is not read.
func (r *Registry) scanFile(name string, old *fileState, full bool) scanResult {
	path := r.dir + string(filepath.Separator) + name
	fp, err := statFingerprint(path) // follows ConfigMap symlinks
	switch {
	case err != nil && errors.Is(err, fs.ErrNotExist) && !exists(path):
		return scanResult{name: name}
	case err != nil:
		return r.problemResult(name, path, old, fp, "cannot read: "+reason(path, err))
	case !fp.regular:
		return r.problemResult(name, path, old, fp, "cannot read: "+ErrNotRegular.Error())
	case old != nil && !full && old.fp == fp:
		return scanResult{name: name, state: old}
	}
	data, err := ReadFile(path)
	if err != nil {
		return r.problemResult(name, path, old, fp, "cannot read: "+reason(path, err))
	}
	hash := sha256.Sum256(data)
	if old != nil && old.hash == hash {
		return r.sameContent(name, old, fp)
	}
	return scanResult{name: name, state: r.parseState(path, data, hash, fp, old), changed: true}
}

// exists reports whether the name itself is in the directory (a dangling
// symlink exists, its target does not).
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// reason is err without the path, which the problem names already.
func reason(path string, err error) string {
	if pe, ok := errors.AsType[*fs.PathError](err); ok && pe.Path == path {
		err = pe.Err
	}
	if errors.Is(err, fs.ErrNotExist) {
		return "symlink target does not exist"
	}
	return err.Error()
}

// problemResult keeps the last good version of old and reports msg; it is
// a change only when the problems differ from old's.
func (r *Registry) problemResult(name, path string, old *fileState, fp fingerprint, msg string) scanResult {
	probs := Problems{{File: path, Msg: msg}}
	st := r.failedState(old, fp, probs)
	changed := old == nil || !slices.Equal(old.problems, probs)
	return scanResult{name: name, state: st, changed: changed}
}

// sameContent handles a file whose fingerprint moved but whose content did
// not (touch, chmod, a rewrite of the same bytes): only an ext derived from
// the mtime follows it.
func (r *Registry) sameContent(name string, old *fileState, fp fingerprint) scanResult {
	st := *old
	st.fp = fp
	if old.good == nil || !old.ctFromMtime && !old.lwtFromMtime || old.fp.mtime().Equal(fp.mtime()) {
		return scanResult{name: name, state: &st}
	}
	p := *old.good
	r.deriveExt(&p, fp, old.ctFromMtime, old.lwtFromMtime)
	if p.Ext == old.good.Ext {
		return scanResult{name: name, state: &st}
	}
	st.good = &p
	return scanResult{name: name, state: &st, changed: true}
}

// deriveExt sets the ext times a file leaves out to its mtime, clamped to
// now: a file stamped in the future (a wrong clock, a copied archive) would
// otherwise claim a write that has not happened yet.
func (r *Registry) deriveExt(p *Provider, fp fingerprint, ct, lwt bool) {
	t := fp.mtime()
	if now := r.now(); t.After(now) {
		t = now
	}
	if ct {
		p.Ext.CT = NewTimestamp(t)
	}
	if lwt {
		p.Ext.LWT = NewTimestamp(t)
	}
}

// parseState turns file content into a state; on failure the last good
// version of old is kept.
func (r *Registry) parseState(path string, data []byte, hash [32]byte, fp fingerprint, old *fileState) *fileState {
	plain, probs := r.decode(path, data)
	var pr *parsed
	if probs == nil {
		pr, probs = parse(path, plain)
	}
	if len(probs) > 0 {
		st := r.failedState(old, fp, probs)
		st.hash = hash
		return st
	}
	p := pr.p
	if p.ID == "" {
		p.ID = DeriveID(p.Code)
	}
	_, ct := pr.lines["ext.ct"]
	_, lwt := pr.lines["ext.lwt"]
	st := &fileState{fp: fp, hash: hash, good: &p, codeLine: pr.lineOf("code"), idLine: pr.idLine(),
		ctFromMtime: !ct, lwtFromMtime: !lwt}
	r.deriveExt(&p, fp, st.ctFromMtime, st.lwtFromMtime)
	return st
}

func (r *Registry) failedState(old *fileState, fp fingerprint, probs Problems) *fileState {
	st := &fileState{fp: fp, problems: probs, codeLine: 1, idLine: 1}
	if old != nil {
		st.good, st.codeLine, st.idLine = old.good, old.codeLine, old.idLine
		st.ctFromMtime, st.lwtFromMtime = old.ctFromMtime, old.lwtFromMtime
	}
	return st
}

// parallel runs fn(i) for i in [0,n) on GOMAXPROCS workers.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}
