package etcdtest

import (
	"net"
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
	mode   Mode
	closed bool
	moved  chan struct{} // closed and replaced on every mode change and at Close
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
	p := &Proxy{ln: ln, target: hostPort(target), moved: make(chan struct{}),
		conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// hostPort strips an http:// or https:// scheme.
func hostPort(s string) string {
	for _, pre := range []string{"http://", "https://"} {
		if len(s) > len(pre) && s[:len(pre)] == pre {
			return s[len(pre):]
		}
	}
	return s
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
	close(p.moved)
	p.moved = make(chan struct{})
	if m == Drop {
		for c := range p.conns {
			c.Close()
		}
	}
}

// Mode returns the current mode.
func (p *Proxy) Mode() Mode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() {
	p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	close(p.moved)
	p.moved = make(chan struct{})
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.Mode() == Drop {
			c.Close()
			continue
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

// serve connects c to the target and copies both ways until either side
// closes.
func (p *Proxy) serve(c net.Conn) {
	defer p.wg.Done()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(c, up) {
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.copy(up, c) }()
	go func() { defer wg.Done(); p.copy(c, up) }()
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
	for {
		p.mu.Lock()
		mode, closed, moved := p.mode, p.closed, p.moved
		p.mu.Unlock()
		switch {
		case closed || mode == Drop:
			return false
		case mode == Forward:
			return true
		}
		<-moved
	}
}
