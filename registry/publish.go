package registry

import "github.com/trunkd/trunkd/registry/feed"

// Subscribe starts a subscription to the snapshots: the current one is
// waiting in C, then every new one follows; a slow reader sees only the
// latest.
func (r *Registry) Subscribe() *feed.Subscription[*Snapshot] { return r.snaps.Subscribe() }

// change is one file whose provider or problems changed; old and new are
// its states before and after (nil: absent).
type change struct {
	name     string
	old, new *fileState
}

// maxSplice is the most changed files publish splices into the current
// snapshot; more (a checkout, the first load) rebuild it.
const maxSplice = 16

// publish makes the next snapshot from the file states and offers it to
// the subscriptions.
// Splicing a few changed files into the current snapshot is an
// optimisation with the same result as a rebuild (TestWithFileMatchesRebuild);
// it declines when duplicates are involved. Called with r.mu held.
func (r *Registry) publish(changes []change) {
	s := r.splice(changes)
	if s == nil {
		s = buildSnapshot(r.gen+1, r.now(), r.dir, r.states)
	}
	r.gen = s.generation
	r.snap.Store(s)
	r.m.observe(s)
	r.snaps.Publish(s)
}

// splice applies changes to the current snapshot one file at a time, or
// returns nil when a rebuild is needed.
func (r *Registry) splice(changes []change) *Snapshot {
	s := r.snap.Load()
	if s == nil || len(changes) == 0 || len(changes) > maxSplice {
		return nil
	}
	now := r.now()
	for _, c := range changes {
		var old *Provider
		if c.old != nil {
			old = c.old.good
		}
		if s = s.withFile(r.gen+1, now, r.dir, c.name, old, c.new); s == nil {
			return nil
		}
	}
	return s
}
