package registry

// Subscription delivers snapshots: the current one at once, then every new
// one. A slow reader sees only the latest.
type Subscription struct {
	c chan *Snapshot
	r *Registry
}

// Subscribe starts a subscription; the current snapshot is waiting in C.
func (r *Registry) Subscribe() *Subscription {
	sub := &Subscription{c: make(chan *Snapshot, 1), r: r}
	r.subMu.Lock()
	r.subs[sub] = struct{}{}
	if s := r.snap.Load(); s != nil {
		sub.c <- s
	}
	r.subMu.Unlock()
	return sub
}

// C is the channel of snapshots.
func (s *Subscription) C() <-chan *Snapshot { return s.c }

// Close stops deliveries.
func (s *Subscription) Close() {
	s.r.subMu.Lock()
	delete(s.r.subs, s)
	s.r.subMu.Unlock()
}

// announce offers s to every subscription.
func (r *Registry) announce(s *Snapshot) {
	r.subMu.Lock()
	for sub := range r.subs {
		sub.offer(s)
	}
	r.subMu.Unlock()
}

// offer replaces an undelivered snapshot by snap. Only announce calls it,
// under subMu, so the second send cannot fail.
func (s *Subscription) offer(snap *Snapshot) {
	select {
	case s.c <- snap:
		return
	default:
	}
	select {
	case <-s.c:
	default:
	}
	s.c <- snap
}
