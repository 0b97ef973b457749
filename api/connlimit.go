package api

import (
	"container/list"
	"net"
	"net/http"
	"sync"
)

// connLimiter bounds the open connections of one http.Server: its Accept
// wraps the listener and its track is the server's ConnState hook.
//
// A plain accept limiter (netutil.LimitListener) stops accepting at the
// bound, so a flood of idle connections locks everyone out, /healthz
// included, until they time out. Here, at the bound, a new connection
// closes the one that has been idle (or silent since it was opened) the
// longest: a connection inside a request, or whose request waits unread in
// its socket, is never closed, so a client that sends its request at once
// gets in. Only when every connection is
// inside a request is the new one closed unanswered.
type connLimiter struct {
	net.Listener
	max int

	mu    sync.Mutex
	conns map[net.Conn]*list.Element // every open connection; nil element: in a request
	idle  list.List                  // of net.Conn, idle the longest first
}

func newConnLimiter(max int) *connLimiter {
	return &connLimiter{max: max, conns: map[net.Conn]*list.Element{}}
}

// Accept returns the next connection, making room for it at the bound.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.admit(c) {
			return c, nil
		}
		_ = c.Close()
	}
}

// admit counts c in, closing the longest idle connection at the bound; it
// is false when every connection is inside a request.
func (l *connLimiter) admit(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.conns) >= l.max {
		victim := l.victim()
		if victim == nil {
			return false
		}
		l.idle.Remove(l.conns[victim])
		delete(l.conns, victim)
		_ = victim.Close()
	}
	l.conns[c] = nil
	return true
}

// maxVictimScan bounds how many idle connections admit looks at.
const maxVictimScan = 32

// victim is the idle connection to close: the one idle the longest whose
// client has not just sent a request the server has not read yet (a
// healthy client's fresh connection looks idle for the moment between its
// request's arrival and the server's read of it).
func (l *connLimiter) victim() net.Conn {
	n := 0
	for el := l.idle.Front(); el != nil && n < maxVictimScan; el, n = el.Next(), n+1 {
		if c := el.Value.(net.Conn); !hasPendingInput(c) {
			return c
		}
	}
	return nil
}

// track follows the server's view of each connection.
func (l *connLimiter) track(c net.Conn, state http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	el, ok := l.conns[c]
	if !ok {
		return // closed by admit
	}
	if el != nil {
		l.idle.Remove(el)
		l.conns[c] = nil
	}
	switch state {
	case http.StateNew, http.StateIdle:
		l.conns[c] = l.idle.PushBack(c)
	case http.StateClosed, http.StateHijacked:
		delete(l.conns, c)
	}
}

// open is the number of connections counted in.
func (l *connLimiter) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}
