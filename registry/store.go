package registry

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Errors of the store; API handlers map them to status codes.
var (
	ErrNotFound = errors.New("provider not found")
	ErrConflict = errors.New("conflict")
)

// Create writes a new provider file. p must have its defaults applied (start
// from Default()); an empty id becomes DeriveID(code) and ext is set to now.
// The returned provider is already in the current snapshot.
func (r *Registry) Create(p Provider) (*Provider, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := NewTimestamp(r.now())
	p.Ext = Ext{CT: now, LWT: now}
	p.normalize()
	if p.ID == "" && p.Code != "" {
		p.ID = DeriveID(p.Code)
	}
	if probs := Validate(&p); len(probs) > 0 {
		return nil, probs
	}
	if err := r.checkUnique(&p, ""); err != nil {
		return nil, err
	}
	name := fileNameFor(p.Code, func(n string) bool {
		_, known := r.states[n]
		_, err := os.Lstat(filepath.Join(r.dir, n))
		return known || err == nil
	})
	data, err := encodeNew(&p)
	if err != nil {
		return nil, err
	}
	if err := WriteFile(r.dir, name, data, false); err != nil {
		return nil, fmt.Errorf("create provider %q: %w", p.Code, err)
	}
	return r.afterWrite(name, data, &p)
}

// Update applies change to the current version of provider id and writes
// the result into its file, editing only the changed values. change may
// return an error (a failed precondition) to abort. ext.lwt advances; id and
// ext.ct cannot change.
func (r *Registry) Update(id string, change func(p *Provider) error) (*Provider, error) {
	id = strings.ToLower(id)
	r.mu.Lock()
	defer r.mu.Unlock()
	name, pr, err := r.readCurrent(id)
	if err != nil {
		return nil, err
	}
	old := pr.p
	if old.ID == "" {
		old.ID = id
	}
	old.Ext = r.Snapshot().mustByID(id).Ext
	next := old
	if err := change(&next); err != nil {
		return nil, err
	}
	next.normalize()
	if next.ID != old.ID {
		return nil, Problems{{Field: "id", Msg: "is prohibited for modification"}}
	}
	next.Ext = Ext{CT: old.Ext.CT, LWT: NewTimestamp(r.now())}
	if !next.Ext.LWT.After(old.Ext.LWT.Time) {
		next.Ext.LWT = NewTimestamp(old.Ext.LWT.Add(10 * 1e6))
	}
	if probs := Validate(&next); len(probs) > 0 {
		return nil, probs
	}
	if err := r.checkUnique(&next, id); err != nil {
		return nil, err
	}
	// Compare with the file as written: absent ext gets written, and a
	// derived id stays unwritten unless the code changes (the id derived
	// from the new code would differ, so the old one must be kept in the file).
	base := pr.p
	if next.Code == old.Code {
		base.ID = old.ID
	}
	editDoc(pr.doc, &base, &next)
	data, err := encodeDoc(pr.doc)
	if err != nil {
		return nil, err
	}
	if err := WriteFile(r.dir, name, data, true); err != nil {
		return nil, fmt.Errorf("update provider %q: %w", next.Code, err)
	}
	return r.afterWrite(name, data, &next)
}

// Delete removes the file of provider id after check (a precondition, may
// be nil) accepts the current version.
func (r *Registry) Delete(id string, check func(p *Provider) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur, ok := r.Snapshot().ByID(id)
	if !ok {
		return ErrNotFound
	}
	if check != nil {
		if err := check(cur); err != nil {
			return err
		}
	}
	name := r.Snapshot().FileOf(id)
	if err := removeFileDurable(r.dir, name); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete provider %q: %w", cur.Code, err)
	}
	r.commit(name, nil)
	return nil
}

// readCurrent reads and parses the file of provider id as it is on disk now.
func (r *Registry) readCurrent(id string) (string, *parsed, error) {
	name := r.Snapshot().FileOf(id)
	if name == "" {
		return "", nil, ErrNotFound
	}
	path := filepath.Join(r.dir, name)
	data, err := ReadFile(path) // never blocks on a FIFO while holding r.mu
	if err != nil {
		return "", nil, fmt.Errorf("%w: read %s: %v", ErrConflict, name, err)
	}
	pr, probs := parse(name, data) // name, not path: this error reaches API clients
	if len(probs) > 0 {
		return "", nil, fmt.Errorf("%w: %s is invalid on disk, fix it first: %v", ErrConflict, name, probs[0])
	}
	if got := pr.p.ID; got != "" && got != id || got == "" && DeriveID(pr.p.Code) != id {
		return "", nil, fmt.Errorf("%w: %s changed on disk since the last reload", ErrConflict, name)
	}
	return name, pr, nil
}

// checkUnique rejects a code or id that another provider already has.
func (r *Registry) checkUnique(p *Provider, self string) error {
	s := r.Snapshot()
	if other, ok := s.ByCode(p.Code); ok && other.ID != self {
		return fmt.Errorf("%w: code %q is already used by provider %s", ErrConflict, p.Code, other.ID)
	}
	if self == "" {
		if _, ok := s.ByID(p.ID); ok {
			return fmt.Errorf("%w: id %s is already used", ErrConflict, p.ID)
		}
	}
	return nil
}

// afterWrite records a file the store just wrote and publishes the snapshot
// that holds it, so the watcher's later rescan finds nothing new.
func (r *Registry) afterWrite(name string, data []byte, p *Provider) (*Provider, error) {
	st := &fileState{hash: sha256.Sum256(data), good: p, codeLine: 1, idLine: 1}
	if fp, err := statFingerprint(filepath.Join(r.dir, name)); err == nil {
		st.fp = fp
	}
	r.commit(name, st)
	return p, nil
}

func (s *Snapshot) mustByID(id string) *Provider {
	p, _ := s.ByID(id)
	return p
}
