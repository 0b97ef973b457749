package registry

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Group commit: concurrent store writes share the directory fsync and the
// snapshot publication.
//
// A write takes three steps. Under r.mu it is prepared (validated,
// encoded, parsed back, its file name chosen) and reserves its file name,
// id and codes, so that no other write reads or takes them until it is
// committed; a write that needs a reserved one waits for that write and
// prepares again. Without any lock its new content goes to a temporary
// file that is fsynced (stageTemp), so concurrent writers fsync at the
// same time. Then it joins the commit queue: the writer that holds the
// commit token takes every queued write, puts each in place (a link or
// rename, or the removal) and fsyncs the directory once, while the next
// writes are prepared, then under r.mu records the new file states and
// publishes one snapshot; only then does any writer of the batch return,
// so a write answers only when its change is durable and in the published
// snapshot, as before. A failure of one file
// (its name taken meanwhile by a hand edit, a refused rename) fails that
// write only; a failed directory fsync fails every write that reached it
// in the batch, as it failed the one write before.

// testHookAfterPlace, when set by a test, runs after a batch is in place
// and durable and before it is recorded: where a rescan may come first.
var testHookAfterPlace func()

// pendingWrite is one store write from its preparation to its commit.
type pendingWrite struct {
	name    string
	what    string     // "update provider \"x\"", the context of its errors
	keys    []string   // what it reserves: file, id and code keys
	data    []byte     // the new stored content; nil: the file is removed
	replace bool       // the file exists and is replaced
	state   *fileState // the state the write leaves; nil for a removal
	tmp     string     // the staged temporary file
	err     error
	done    chan struct{} // closed once committed or failed
}

func newPendingWrite(name, what string, keys ...string) *pendingWrite {
	return &pendingWrite{name: name, what: what, keys: append(keys, "file:"+name), done: make(chan struct{})}
}

// withContent sets what the write stores and the state it leaves.
func (w *pendingWrite) withContent(data []byte, replace bool, pr *parsed, p *Provider) *pendingWrite {
	w.data, w.replace = data, replace
	w.state = &fileState{hash: sha256.Sum256(data), good: p, codeLine: pr.lineOf("code"), idLine: pr.idLine()}
	return w
}

// reservedError is returned by a preparation that needs what a pending
// write reserved; the write waits for done and prepares again.
type reservedError struct{ done <-chan struct{} }

func (e *reservedError) Error() string { return "waiting for a pending write" }

// commitGroup is the queue of staged writes and the token of the writer
// that commits them.
type commitGroup struct {
	token sync.Mutex
	mu    sync.Mutex
	queue []*pendingWrite
}

// write runs one store write: prepare (under r.mu, again after each wait
// for a reserved name, id or code), stage, commit with the group. It
// returns the write's own error.
func (r *Registry) write(prepare func() (*pendingWrite, error)) error {
	w, err := r.reserve(prepare)
	if err != nil {
		return err
	}
	if w.data != nil {
		end := r.busy.begin(r.now())
		w.tmp, w.err = stageTemp(r.dir, w.name, w.data)
		end()
	}
	r.commitWith(w)
	if w.err != nil {
		return r.clientError(fmt.Errorf("%s: %w", w.what, w.err))
	}
	return nil
}

// reserve prepares a write and records its reservations.
func (r *Registry) reserve(prepare func() (*pendingWrite, error)) (*pendingWrite, error) {
	for {
		r.mu.Lock()
		w, err := prepare()
		if err == nil {
			for _, k := range w.keys {
				r.pending[k] = w
			}
		}
		r.mu.Unlock()
		var busy *reservedError
		if !errors.As(err, &busy) {
			return w, err
		}
		<-busy.done
	}
}

// reserved returns a reservedError when a pending write holds one of keys.
// Called with r.mu held.
func (r *Registry) reserved(keys ...string) error {
	for _, k := range keys {
		if w, ok := r.pending[k]; ok {
			return &reservedError{done: w.done}
		}
	}
	return nil
}

// commitWith queues w and returns once it is committed: by this writer,
// when it gets the token first, with every write queued by then, or by
// the writer that had the token.
func (r *Registry) commitWith(w *pendingWrite) {
	g := &r.group
	g.mu.Lock()
	g.queue = append(g.queue, w)
	g.mu.Unlock()
	g.token.Lock()
	defer g.token.Unlock()
	select {
	case <-w.done:
		return
	default:
	}
	g.mu.Lock()
	batch := g.queue
	g.queue = nil
	g.mu.Unlock()
	r.commitBatch(batch)
}

// commitBatch puts the staged writes in place, fsyncs the directory once,
// publishes one snapshot with all of them and releases the writers.
func (r *Registry) commitBatch(batch []*pendingWrite) {
	end := r.busy.begin(r.now())
	placed := r.placeAll(batch)
	end()
	if testHookAfterPlace != nil {
		testHookAfterPlace()
	}
	r.mu.Lock()
	var results []scanResult
	for _, w := range placed {
		// A rescan may have recorded the placed file already: then it
		// is in the snapshot, and publishing it again would only flap.
		old := r.states[w.name]
		same := w.state != nil && old != nil && old.hash == w.state.hash || w.state == nil && old == nil
		results = append(results, scanResult{name: w.name, state: w.state, changed: !same})
	}
	if changes := r.apply(results, false); len(changes) > 0 {
		r.publish(changes)
	}
	for _, w := range batch {
		for _, k := range w.keys {
			delete(r.pending, k)
		}
	}
	r.mu.Unlock()
	for _, w := range batch {
		close(w.done)
	}
}

// placeAll puts every staged write of batch in place and makes the
// directory durable; it returns the writes that succeeded. It runs
// without r.mu, so that the next writes are prepared meanwhile: the
// reservations keep every other write off these names, and a rescan that
// sees a placed file before the directory fsync sees it as it sees any
// save before its writer fsyncs; no write returns before the fsync.
func (r *Registry) placeAll(batch []*pendingWrite) []*pendingWrite {
	var placed []*pendingWrite
	for _, w := range batch {
		if w.err == nil {
			w.err = w.place(r.dir)
		}
		if w.err == nil {
			placed = append(placed, w)
		}
	}
	if len(placed) == 0 {
		return nil
	}
	if err := syncDir(r.dir); err != nil {
		for _, w := range placed {
			w.err = err
		}
		return nil
	}
	for _, w := range placed {
		if w.state == nil {
			continue
		}
		if fp, err := statFingerprint(filepath.Join(r.dir, w.name)); err == nil {
			w.state.fp = fp
		}
	}
	return placed
}

// place links or renames the staged file into place, or removes the file.
func (w *pendingWrite) place(dir string) error {
	final := filepath.Join(dir, w.name)
	if w.data == nil {
		if err := os.Remove(final); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", w.name, err)
		}
		return nil
	}
	defer os.Remove(w.tmp) // a no-op once renamed
	if err := place(w.tmp, final, w.replace); err != nil {
		return fmt.Errorf("put %s in place: %w", w.name, err)
	}
	return nil
}
