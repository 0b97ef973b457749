// Package feed owns the latest-wins subscription: a Feed holds the last
// value published and hands it to every Subscription, at once on
// Subscribe and then on every Publish. A slow reader is never waited for
// and never sees a stale value: an undelivered value is replaced by the
// newer one. The registry's snapshots, the cluster's Views and the
// consumers' applied ownership generations are delivered this way.
package feed

import "sync"

// Feed is a latest-wins publisher of values of type T. The zero Feed is
// ready to use; it must not be copied after first use.
type Feed[T any] struct {
	mu   sync.Mutex
	last T
	set  bool // a value was published
	subs map[*Subscription[T]]struct{}
}

// Publish makes v the last value and offers it to every subscription. It
// never blocks on a reader.
func (f *Feed[T]) Publish(v T) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last, f.set = v, true
	for s := range f.subs {
		Offer(s.c, v)
	}
}

// Last returns the last value published, and false before the first.
func (f *Feed[T]) Last() (T, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last, f.set
}

// Subscribe starts a subscription; the last value, if one was published,
// is waiting in C.
func (f *Feed[T]) Subscribe() *Subscription[T] {
	s := &Subscription[T]{c: make(chan T, 1), f: f}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.subs == nil {
		f.subs = map[*Subscription[T]]struct{}{}
	}
	f.subs[s] = struct{}{}
	if f.set {
		s.c <- f.last
	}
	return s
}

// Subscription delivers a Feed's values: a slow reader sees only the
// latest.
type Subscription[T any] struct {
	c chan T
	f *Feed[T]
}

// C is the channel of values.
func (s *Subscription[T]) C() <-chan T { return s.c }

// Close stops deliveries; C is not closed.
func (s *Subscription[T]) Close() {
	s.f.mu.Lock()
	delete(s.f.subs, s)
	s.f.mu.Unlock()
}

// Offer puts v on ch, a channel of capacity one, replacing a value the
// reader has not taken yet. With several senders on ch it retries until
// v is in.
func Offer[T any](ch chan T, v T) {
	for {
		select {
		case ch <- v:
			return
		default:
		}
		select {
		case <-ch:
		default:
		}
	}
}
