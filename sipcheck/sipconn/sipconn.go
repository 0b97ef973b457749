// Package sipconn shuts down the TCP and TLS connections of a sipgo
// v1.7.3 user agent in the order its reference counting expects, so that
// closing the user agent does not log WARN "TCP ref went negative" once per
// open connection. Both the prober and the fake provider use it.
//
// Why: a sipgo connection holds one reference for its reader goroutine and
// one for keeping it idle in the pool (plus one per transaction using it).
// UserAgent.Close clears each transport's ConnectionPool, and
// ConnectionPool.Clear hard-closes every connection (TCPConnection.Close
// sets the count to 0); the reader then sees the closed socket and releases
// its own reference (CloseAndDelete → TryClose), which takes the count to
// -1 and logs the warning through sip.DefaultLogger. It is bookkeeping only
// (the socket is closed once), but an operator cannot tell it from a leak.
// Closing the socket first while only the reader's reference is left lets
// the reader take the count to 0 (the close it then repeats is ignored)
// and remove the connection from the pool, so Clear finds nothing.
//
// The right depth for the fix is sipgo's connection pool (closing on the
// last reference instead of force-closing); emiago/sipgo pull request 360
// proposes that. Once a sipgo release has it, delete this package and its
// callers (TestSipgoStillWarnsWithoutIt fails on that bump: the signal).
package sipconn

import (
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Peers remembers the remote addresses of a user agent's TCP and TLS
// connections as sipgo's pools key them (network and ip:port). The zero
// value is ready; the set is bounded by the peers the user agent talks to.
type Peers struct {
	mu    sync.Mutex
	peers map[peer]struct{}
}

type peer struct{ network, addr string }

// Add records a connection's peer; network is "TCP" or "TLS" (any case).
func (p *Peers) Add(network, addr string) {
	k := peer{strings.ToLower(network), addr}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.peers == nil {
		p.peers = map[peer]struct{}{}
	}
	p.peers[k] = struct{}{}
}

// Note records the peer of a read on a stream connection; call it from
// the user agent's sip.TransportReadFilter.
func (p *Peers) Note(props sip.TransportReadProps) {
	if props.Transport != "UDP" && props.RemoteAddr != nil {
		p.Add(props.Transport, props.RemoteAddr.String())
	}
}

// Close shuts every recorded connection of tl down socket first and waits
// up to wait (in all) for transactions that are ending and for sipgo's
// readers to release them; call it right before UserAgent.Close, once no
// transaction runs any more (each holds a reference).
func (p *Peers) Close(tl *sip.TransportLayer, wait time.Duration) {
	deadline := time.Now().Add(wait)
	for _, c := range p.settled(tl, deadline) {
		c.Ref(1 - c.Ref(0)) // drop ours (from settled) and the idle one
		_ = c.Conn.Close()
	}
	waitPoolEmpty(tl, deadline)
}

// waitPoolEmpty waits until tl holds no TCP or TLS connection (sipgo's
// readers remove theirs on release) or the deadline passes.
func waitPoolEmpty(tl *sip.TransportLayer, deadline time.Time) {
	for tl.Pool("tcp").Size()+tl.Pool("tls").Size() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
}

// settled returns the recorded connections still open, each with a
// reference taken, once no transaction holds one any more (a transaction
// that has just ended may release it a moment after its caller returned)
// or the deadline passed.
func (p *Peers) settled(tl *sip.TransportLayer, deadline time.Time) []*sip.TCPConnection {
	p.mu.Lock()
	peers := make([]peer, 0, len(p.peers))
	for k := range p.peers {
		peers = append(peers, k)
	}
	p.mu.Unlock()
	var out []*sip.TCPConnection
	for _, k := range peers {
		c, err := tl.GetConnection(k.network, k.addr)
		if err != nil {
			continue // closed meanwhile
		}
		tc, ok := c.(*sip.TCPConnection) // TLS connections are TCPConnections too
		if !ok {
			_, _ = c.TryClose()
			continue
		}
		for tc.Ref(0) > 3 && time.Now().Before(deadline) { // reader + idle + ours
			time.Sleep(time.Millisecond)
		}
		out = append(out, tc)
	}
	return out
}
