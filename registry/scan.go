package registry

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// fileState is what the registry remembers of one provider file.
type fileState struct {
	fp       fingerprint
	hash     [32]byte
	good     *Provider // last good version, nil if the file never parsed
	codeLine int
	idLine   int
	problems Problems // why the current content is not in force; nil when it is
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
	state   *fileState // nil: file vanished or is not a regular file
	changed bool       // the provider or its problems changed
}

// scanFile stats, reads and parses one file as far as needed. old may be nil.
func (r *Registry) scanFile(name string, old *fileState, full bool) scanResult {
	path := r.dir + string(filepath.Separator) + name
	fp, regular, err := statFingerprint(path) // follows ConfigMap symlinks
	if err != nil || !regular {
		return scanResult{name: name}
	}
	if old != nil && !full && old.fp == fp {
		return scanResult{name: name, state: old}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		st := r.failedState(old, fp, Problems{{File: path, Msg: "cannot read: " + err.Error()}})
		return scanResult{name: name, state: st, changed: true}
	}
	hash := sha256.Sum256(data)
	if old != nil && old.hash == hash {
		st := *old
		st.fp = fp
		return scanResult{name: name, state: &st}
	}
	return scanResult{name: name, state: r.parseState(path, data, hash, fp, time.Unix(0, fp.mtime), old), changed: true}
}

// parseState turns file content into a state; on failure the last good
// version of old is kept.
func (r *Registry) parseState(path string, data []byte, hash [32]byte, fp fingerprint, mtime time.Time, old *fileState) *fileState {
	pr, probs := parse(path, data)
	if len(probs) > 0 {
		st := r.failedState(old, fp, probs)
		st.hash = hash
		return st
	}
	p := pr.p
	if p.ID == "" {
		p.ID = DeriveID(p.Code)
	}
	if !pr.has["ext.ct"] {
		p.Ext.CT = NewTimestamp(mtime)
	}
	if !pr.has["ext.lwt"] {
		p.Ext.LWT = NewTimestamp(mtime)
	}
	return &fileState{fp: fp, hash: hash, good: &p, codeLine: pr.lineOf("code"), idLine: pr.lineOf("id")}
}

func (r *Registry) failedState(old *fileState, fp fingerprint, probs Problems) *fileState {
	st := &fileState{fp: fp, problems: probs, codeLine: 1, idLine: 1}
	if old != nil {
		st.good, st.codeLine, st.idLine = old.good, old.codeLine, old.idLine
	}
	return st
}

// parallel runs fn(i) for i in [0,n) on GOMAXPROCS workers.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}
