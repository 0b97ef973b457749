package etcdtest

import (
	"net"
	"strings"
	"sync"
	"testing"
)

// Mode is what a Proxy does with traffic.
type Mode int

const (
	// Forward copies bytes both ways.
	Forward Mode = iota
	// Drop closes every connection and closes new ones at once: the peer
	// sees resets, as when the far side is down.
	Drop
	// Blackhole holds every byte: connections stay open and nothing
	// arrives, as in a network partition. Bytes held are delivered when the
	// mode returns to Forward (TCP retransmits after a partition heals).
	Blackhole
)

// String names the mode.
func (m Mode) String() string {
	switch m {
	case Forward:
		return "forward"
	case Drop:
		return "drop"
	case Blackhole:
		return "blackhole"
	}
	return "unknown"
}

// Proxy is a TCP proxy on a loopback port in front of one target address.
// A node given the proxies' addresses as its etcd endpoints can be cut off
// from etcd by the test.
type Proxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	moved  sync.Cond // broadcast on every mode change and at Close
	mode   Mode
	closed bool
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

// NewProxy listens on 127.0.0.1:0 and forwards to target (host:port or an
// http:// URL); it is closed in t.Cleanup.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: strings.TrimPrefix(strings.TrimPrefix(target, "http://"), "https://"),
		conns: map[net.Conn]struct{}{}}
	p.moved.L = &p.mu
	p.wg.Go(p.accept)
	t.Cleanup(p.Close)
	return p
}

// Addr is the proxy's listening address (host:port).
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL is the proxy's address as an etcd endpoint URL.
func (p *Proxy) URL() string { return "http://" + p.Addr() }

// Set changes the mode; Drop closes every open connection at once.
func (p *Proxy) Set(m Mode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = m
	p.moved.Broadcast()
	if m == Drop {
		for c := range p.conns {
			c.Close()
		}
	}
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() {
	p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.moved.Broadcast()
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		drop := p.mode == Drop
		p.mu.Unlock()
		if drop {
			c.Close()
			continue
		}
		p.wg.Go(func() { p.serve(c) })
	}
}

// serve connects c to the target and copies both ways until either side
// closes.
func (p *Proxy) serve(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(c, up) {
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() { p.copy(up, c) })
	wg.Go(func() { p.copy(c, up) })
	wg.Wait()
	p.untrack(c, up)
}

// track registers both ends so Drop and Close reach them; it refuses (and
// closes them) when the proxy was closed or set to Drop meanwhile.
func (p *Proxy) track(c, up net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == Drop || p.closed {
		c.Close()
		up.Close()
		return false
	}
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	return true
}

func (p *Proxy) untrack(c, up net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// copy moves bytes from src to dst, holding each chunk while the mode is
// Blackhole; it closes both ends when either fails.
func (p *Proxy) copy(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.waitForward() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// waitForward blocks while the mode is Blackhole; false when the mode is
// Drop or the proxy closed.
func (p *Proxy) waitForward() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.mode == Blackhole && !p.closed {
		p.moved.Wait()
	}
	return p.mode == Forward && !p.closed
}
