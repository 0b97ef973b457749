package sipcheck

import (
	"math/rand/v2"
	"sync"
	"time"
)

// Retry timing (see doc.go).
const (
	failBase      = 5 * time.Second  // first retry after a timeout or error answer
	failCap       = 5 * time.Minute  // longest retry interval while failing
	rejectBase    = 5 * time.Minute  // first retry after 401/403/404/407
	rejectCap     = 30 * time.Minute // longest retry interval while rejected
	retryAfterCap = time.Hour        // a longer Retry-After is cut to this
	queryDefault  = 600              // check interval in query mode for expires 0
)

// backoff is base·2^(n-1), capped, with "equal jitter": a uniform draw from
// the upper half, so retries of many trunks spread out but none comes early.
func backoff(n int, base, limit time.Duration) time.Duration {
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return d/2 + rand.N(d/2+1)
}

// spread returns d scaled by a uniform factor in [lo, hi).
func spread(d time.Duration, lo, hi float64) time.Duration {
	return time.Duration(float64(d) * (lo + rand.Float64()*(hi-lo)))
}

// limiter hands out start slots at most rate per second, so a snapshot
// with 10,000 new trunks does not fire 10,000 requests at once.
type limiter struct {
	clock    Clock
	interval time.Duration

	mu   sync.Mutex
	next time.Time
}

func newLimiter(clock Clock, rate int) *limiter {
	return &limiter{clock: clock, interval: time.Second / time.Duration(rate)}
}

// delay reserves the next slot and returns how long to wait for it.
func (l *limiter) delay() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	if l.next.Before(now) {
		l.next = now
	}
	d := l.next.Sub(now)
	l.next = l.next.Add(l.interval)
	return d
}
