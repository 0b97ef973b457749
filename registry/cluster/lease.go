package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// leaseState is the node's lease as far as it can prove it alive.
type leaseState struct {
	id         clientv3.LeaseID // 0: none (not granted yet, or etcd said it is gone)
	ttl        time.Duration    // granted
	lastAck    time.Time        // send time of the last acknowledged keep-alive or grant
	deadline   time.Time        // lastAck + ttl - margin
	fenced     bool
	reason     string // why the node is fenced, for its View
	registered bool   // the membership key is claimed under id
	conflict   error  // ErrNameTaken while another lease holds the membership key
	// deregistered: Leave deleted the membership key
	deregistered bool
	timer        *time.Timer // runs checkFence at deadline; made stopped by Open
	failing      bool        // keep-alives fail since the last success (logged once)
}

// keepAliveInterval is the pause between two keep-alives: LeaseTTL/6
// (500 ms at the default 3 s), so a node rides out an etcd outage of
// between TTL - margin - interval and TTL - margin before it fences.
func (c *Cluster) keepAliveInterval() time.Duration { return c.cfg.LeaseTTL / 6 }

// sleep waits for d; false when ctx ended first. The retries after an
// etcd failure (keep-alive, lock, watch) pause with it.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// keepLease grants the lease and sends one keep-alive per interval, each
// bounded by the interval; after a failure it retries after a fifth of the
// interval. It never uses the client's KeepAlive stream: the deadline is
// computed here from send times of acknowledged keep-alives.
func (c *Cluster) keepLease(ctx context.Context) {
	interval := c.keepAliveInterval()
	for ctx.Err() == nil {
		start := time.Now()
		var ok bool
		if id, leaving := c.leaseAndLeaving(); id == 0 {
			ok = !leaving && c.grant(ctx, interval)
		} else {
			ok = c.keepAliveOnce(ctx, id, interval)
		}
		next := interval / 5
		if ok {
			next = max(0, interval-time.Since(start))
		}
		sleep(ctx, next)
	}
}

// leaseAndLeaving returns the lease (0: none) and whether Leave was called.
func (c *Cluster) leaseAndLeaving() (clientv3.LeaseID, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ls.id, c.leavingLocked()
}

// grant asks for a new lease; the node stays fenced until the reconcile
// loop has registered its membership under it.
func (c *Cluster) grant(ctx context.Context, timeout time.Duration) bool {
	gctx, cancel := context.WithTimeout(ctx, max(timeout, c.cfg.DialTimeout))
	defer cancel()
	sent := c.clock.Now()
	resp, err := c.lease.Grant(gctx, int64(c.cfg.LeaseTTL/time.Second))
	if err != nil {
		c.noteFailure(fmt.Errorf("%w: grant lease: %w", ErrEtcd, err))
		return false
	}
	c.mu.Lock()
	c.ls.id, c.ls.registered = resp.ID, false
	c.ackLocked(sent, time.Duration(resp.TTL)*time.Second)
	c.mu.Unlock()
	c.log.Info("lease granted", "lease", fmt.Sprintf("%x", int64(resp.ID)), "ttl", time.Duration(resp.TTL)*time.Second)
	c.poke()
	return true
}

// keepAliveOnce renews lease id within timeout. It sends a keep-alive and,
// while none is answered, another one every hedgeDelay (or at once after
// a failure), up to one per member: the client's round-robin balancer
// sends each to the next member, so a hung member costs one hedge delay,
// not a whole attempt. The first acknowledged renewal moves the deadline
// to ITS send time + TTL - margin; the others are cancelled.
func (c *Cluster) keepAliveOnce(ctx context.Context, id clientv3.LeaseID, timeout time.Duration) bool {
	kctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel() // ends the attempts still in flight
	attempts := max(2, len(c.cfg.Endpoints))
	results := make(chan keepAliveResult, attempts)
	hedge := time.NewTimer(0)
	defer hedge.Stop()
	sent, done := 0, 0
	var lastErr error
	for done < attempts {
		select {
		case <-hedge.C:
			if sent < attempts {
				go c.sendKeepAlive(kctx, id, results)
				sent++
				hedge.Reset(timeout / 5)
			}
			continue
		case r := <-results:
			done++
			if r.err == nil && r.ttl > 0 {
				c.acked(id, r)
				return true
			}
			if r.err == nil || errors.Is(r.err, rpctypes.ErrLeaseNotFound) {
				c.lost(id)
				return false
			}
			lastErr = r.err
			hedge.Reset(0) // a failed attempt: try the next member now
		case <-kctx.Done():
			lastErr = kctx.Err()
			done = attempts
		}
	}
	if ctx.Err() == nil {
		c.noteFailure(fmt.Errorf("%w: keep-alive: %w", ErrEtcd, lastErr))
	}
	return false
}

// keepAliveResult is one keep-alive attempt's answer and its send time.
type keepAliveResult struct {
	sent time.Time // c.clock's time when the attempt was sent
	rtt  time.Duration
	ttl  time.Duration
	err  error
}

// sendKeepAlive sends one keep-alive for id and reports it on results,
// which has room for every attempt, so it never blocks.
func (c *Cluster) sendKeepAlive(ctx context.Context, id clientv3.LeaseID, results chan<- keepAliveResult) {
	r := keepAliveResult{sent: c.clock.Now()}
	start := time.Now()
	resp, err := c.lease.KeepAliveOnce(ctx, id)
	r.rtt, r.err = time.Since(start), err
	if err == nil {
		r.ttl = time.Duration(resp.TTL) * time.Second
	}
	results <- r
}

// acked records acknowledged keep-alive r for lease id, unless the lease
// changed meanwhile or a later-sent keep-alive was acknowledged already.
func (c *Cluster) acked(id clientv3.LeaseID, r keepAliveResult) {
	c.m.keepAliveRTT.Observe(r.rtt.Seconds())
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ls.id == id && !r.sent.Before(c.ls.lastAck) {
		c.ackLocked(r.sent, r.ttl)
	}
}

// noteFailure logs the first failure of a streak.
func (c *Cluster) noteFailure(err error) {
	c.m.keepAliveFailures.Inc()
	c.mu.Lock()
	first := !c.ls.failing
	c.ls.failing = true
	deadline := c.ls.deadline
	c.mu.Unlock()
	if first {
		c.log.Warn("etcd unreachable, retrying", "error", err, "fence_at", deadline)
	}
}

// ackLocked records an acknowledged keep-alive sent at sent and re-arms
// the fence timer; a fenced node with its membership registered under
// this lease unfences. Called under mu.
func (c *Cluster) ackLocked(sent time.Time, ttl time.Duration) {
	if c.ls.failing {
		c.log.Info("etcd reachable again")
		c.ls.failing = false
	}
	c.ls.lastAck, c.ls.ttl = sent, ttl
	c.ls.deadline = sent.Add(ttl - c.cfg.FenceMargin)
	c.ls.timer.Reset(c.ls.deadline.Sub(c.clock.Now()))
	if c.ls.fenced && c.ls.registered && c.clock.Now().Before(c.ls.deadline) {
		c.ls.fenced, c.ls.reason = false, ""
		c.log.Info("unfenced: lease proven alive", "deadline", c.ls.deadline)
		c.publish()
		c.poke()
	}
}

// checkFence fences the node once its deadline passed without a newer
// acknowledged keep-alive.
func (c *Cluster) checkFence() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ls.fenced {
		return
	}
	if left := c.ls.deadline.Sub(c.clock.Now()); left > 0 {
		c.ls.timer.Reset(left)
		return
	}
	c.fenceLocked("lease not proven alive before its deadline")
}

// fenceLocked publishes a fenced View (nothing owned); called under mu.
func (c *Cluster) fenceLocked(why string) {
	c.ls.fenced, c.ls.reason = true, why
	c.m.fences.Inc()
	c.log.Warn("fenced: stop registering", "reason", why, "last_ack", c.ls.lastAck,
		"deadline", c.ls.deadline, "lease", fmt.Sprintf("%x", int64(c.ls.id)))
	c.publish()
}

// lost drops lease id after etcd said it no longer exists: its keys are
// gone, so are this node's ownerships. The next round grants a new lease.
func (c *Cluster) lost(id clientv3.LeaseID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ls.id != id {
		return
	}
	c.ls.id, c.ls.registered = 0, false
	c.closeLeftLocked() // a Leave ends: the node holds nothing any more
	c.changes += uint64(len(c.owned))
	clear(c.owned)
	clear(c.release)
	clear(c.unsure)
	if !c.ls.fenced {
		c.fenceLocked("lease expired in etcd")
		return
	}
	c.ls.reason = "lease expired in etcd; joining again under a new one"
	c.log.Warn("lease expired in etcd; granting a new one", "lease", fmt.Sprintf("%x", int64(id)))
	c.publish()
}
