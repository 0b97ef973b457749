package registry

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Create writes a new provider file. p must have its defaults applied (start
// from Default()); an empty id becomes DeriveID(code) and ext is set to now.
// The returned provider is already in the current snapshot. Concurrent
// writes are committed together (groupcommit.go).
func (r *Registry) Create(p Provider) (*Provider, error) {
	var created *Provider
	err := r.write(func() (*pendingWrite, error) {
		q := p // a retry after a wait starts from the caller's provider
		created = &q
		return r.prepareCreate(created)
	})
	if err != nil {
		return nil, err
	}
	return created, nil
}

// prepareCreate validates the new provider p, chooses its file name and
// encodes it. Called with r.mu held.
func (r *Registry) prepareCreate(p *Provider) (*pendingWrite, error) {
	now := NewTimestamp(r.now())
	p.Ext = Ext{CT: now, LWT: now}
	p.normalize()
	if p.ID == "" && p.Code != "" {
		p.ID = DeriveID(p.Code)
	}
	if probs := Validate(p); len(probs) > 0 {
		return nil, probs
	}
	if err := r.reserved("id:"+p.ID, "code:"+p.Code); err != nil {
		return nil, err
	}
	if err := r.checkUnique(p, ""); err != nil {
		return nil, err
	}
	name := fileNameFor(p.Code, func(n string) bool {
		_, known := r.states[n]
		_, pending := r.pending["file:"+n]
		_, err := os.Lstat(filepath.Join(r.dir, n))
		return known || pending || err == nil
	})
	data, err := encodeNew(p)
	if err != nil {
		return nil, err
	}
	written, err := verifyWrite(name, data, p)
	if err != nil {
		return nil, err
	}
	if data, err = r.encode(name, data, nil); err != nil {
		return nil, err
	}
	w := newPendingWrite(name, fmt.Sprintf("create provider %q", p.Code), "id:"+p.ID, "code:"+p.Code)
	return w.withContent(data, false, written, p), nil
}

// Update applies change to the current version of provider id and writes
// the result into its file, replacing only the bytes of the changed values
// (see splice.go); the file is parsed back before it replaces the old one
// and must read as exactly the intended provider. change may return an
// error (a failed precondition) to abort; it may be called more than once
// (again after waiting for a concurrent write of the same provider). ext.lwt
// becomes the time of the write; id and ext.ct cannot change.
func (r *Registry) Update(id string, change func(p *Provider) error) (*Provider, error) {
	id = strings.ToLower(id)
	var next *Provider
	err := r.write(func() (w *pendingWrite, err error) {
		next, w, err = r.prepareUpdate(id, change)
		return w, err
	})
	if err != nil {
		return nil, err
	}
	return next, nil
}

// prepareUpdate reads provider id's file, applies change and splices the
// result into the file's bytes. Called with r.mu held.
func (r *Registry) prepareUpdate(id string, change func(p *Provider) error) (*Provider, *pendingWrite, error) {
	if err := r.reserved("id:" + id); err != nil {
		return nil, nil, err
	}
	cur, ok := r.Snapshot().ByID(id)
	if !ok {
		return nil, nil, ErrNotFound
	}
	name, stored, data, pr, err := r.readCurrent(id)
	if err != nil {
		return nil, nil, err
	}
	old := pr.p
	old.ID, old.Ext = id, cur.Ext
	next, err := r.nextVersion(old, change)
	if err != nil {
		return nil, nil, err
	}
	if err := r.reserved("code:" + next.Code); err != nil {
		return nil, nil, err
	}
	// Compare with the file as written: absent ext gets written, and a
	// derived id stays unwritten unless the code changes (the id derived
	// from the new code would differ, so the old one must be kept in the file).
	base := pr.p
	if next.Code == old.Code {
		base.ID = old.ID
	}
	out, written, err := editFile(name, data, pr.doc, &base, &next)
	if err != nil {
		return nil, nil, err
	}
	if out, err = r.encode(name, out, stored); err != nil {
		return nil, nil, err
	}
	w := newPendingWrite(name, fmt.Sprintf("update provider %q", next.Code), "id:"+id, "code:"+old.Code, "code:"+next.Code)
	return &next, w.withContent(out, true, written, &next), nil
}

// nextVersion applies change to old and checks the result: same id,
// valid, code and id unique; ext.lwt becomes the time of the write.
func (r *Registry) nextVersion(old Provider, change func(p *Provider) error) (Provider, error) {
	next := old
	if err := change(&next); err != nil {
		return next, err
	}
	next.normalize()
	if next.ID != old.ID {
		return next, Problems{{Msg: "id is prohibited for modification"}}
	}
	next.Ext = Ext{CT: old.Ext.CT, LWT: r.writeTime(old.Ext.LWT)}
	if probs := Validate(&next); len(probs) > 0 {
		return next, probs
	}
	return next, r.checkUnique(&next, old.ID)
}

// writeTime is the ext.lwt of a write: the current time, or 10 ms after
// the last write when that is less than a second ahead (two writes within
// one tick, a small step back of the clock), so that lwt keeps increasing.
// A last write time further ahead (a wrong clock, a hand-edited 2099) is
// not carried on: the real time replaces it.
func (r *Registry) writeTime(last Timestamp) Timestamp {
	now := NewTimestamp(r.now())
	if !now.After(last.Time) && last.Sub(now.Time) < time.Second {
		return NewTimestamp(last.Add(10 * time.Millisecond))
	}
	return now
}

// Delete removes the file of provider id after check (a precondition, may
// be nil, may be called again after a wait for a concurrent write of the
// same provider) accepts the current version.
func (r *Registry) Delete(id string, check func(p *Provider) error) error {
	id = strings.ToLower(id)
	return r.write(func() (*pendingWrite, error) {
		if err := r.reserved("id:" + id); err != nil {
			return nil, err
		}
		cur, ok := r.Snapshot().ByID(id)
		if !ok {
			return nil, ErrNotFound
		}
		if check != nil {
			if err := check(cur); err != nil {
				return nil, err
			}
		}
		name := r.Snapshot().FileOf(id)
		return newPendingWrite(name, fmt.Sprintf("delete provider %q", cur.Code), "id:"+id, "code:"+cur.Code), nil
	})
}

// readCurrent reads the file of provider id as it is on disk now: its
// stored bytes and its plaintext, parsed.
func (r *Registry) readCurrent(id string) (name string, stored, plain []byte, pr *parsed, err error) {
	name = r.Snapshot().FileOf(id)
	if name == "" {
		return "", nil, nil, nil, ErrNotFound
	}
	stored, err = ReadFile(filepath.Join(r.dir, name)) // never blocks on a FIFO while holding r.mu
	if err != nil {
		return "", nil, nil, nil, r.clientError(fmt.Errorf("%w: read %s: %w", ErrConflict, name, err))
	}
	plain, probs := r.decode(name, stored) // name, not path: this error reaches API clients
	if probs == nil {
		pr, probs = parse(name, plain)
	}
	if len(probs) > 0 {
		return "", nil, nil, nil, fmt.Errorf("%w: %s is invalid on disk, fix it first: %v", ErrConflict, name, probs[0])
	}
	if got := pr.p.ID; got != "" && got != id || got == "" && DeriveID(pr.p.Code) != id {
		return "", nil, nil, nil, fmt.Errorf("%w: %s changed on disk since the last reload", ErrConflict, name)
	}
	return name, stored, plain, pr, nil
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
