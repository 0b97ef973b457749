package sipcheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// crlfPing is the RFC 5626 keep-alive ping.
var crlfPing = []byte("\r\n\r\n")

// keepalives matches RFC 5626 pongs (a CRLF between SIP messages on a TCP
// or TLS connection) to the pings waiting for them. Trunks that share a
// connection share one ping in flight: a burst of double CRLFs would reach
// the peer as one read, which some stacks do not answer.
type keepalives struct {
	mu      sync.Mutex
	pending map[string]*flight // by remote address of the connection
	streams map[string]framer  // by local and remote address; only streams inside a message
}

type flight struct {
	done chan struct{}
	sent time.Time
}

func newKeepalives() *keepalives {
	return &keepalives{pending: map[string]*flight{}, streams: map[string]framer{}}
}

// join returns the flight to key, starting one when none is pending.
func (k *keepalives) join(key string) (f *flight, first bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if f := k.pending[key]; f != nil {
		return f, false
	}
	f = &flight{done: make(chan struct{}), sent: time.Now()}
	k.pending[key] = f
	return f, true
}

// abandon forgets f after its waiter gave up.
func (k *keepalives) abandon(key string, f *flight) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.pending[key] == f {
		delete(k.pending, key)
	}
}

// readFilter sees every read of the UA's transports before sipgo parses it
// and passes it on unchanged (sipgo skips CRLFs before a start line). Reads
// of TCP and TLS connections go to the keep-alive framing and name the
// connection's peer for the shutdown (package sipconn).
func (e *engine) readFilter(props sip.TransportReadProps, data []byte) ([]byte, error) {
	if props.Transport == "UDP" || props.RemoteAddr == nil || props.LocalAddr == nil {
		return data, nil
	}
	remote := props.RemoteAddr.String()
	e.peers.Add(props.Transport, remote)
	e.ka.observe(props.LocalAddr.String()+" "+remote, remote, data)
	return data, nil
}

// observe feeds one read of a stream to its framer and completes the
// flight to remote when the read held a pong. A framer is kept only while
// its stream is inside a message: at a boundary a new one is the same, so
// closed connections leave nothing behind (but one closed mid-message).
func (k *keepalives) observe(stream, remote string, data []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	f := k.streams[stream]
	pongs := f.feed(data)
	if f.idle() {
		delete(k.streams, stream)
	} else {
		k.streams[stream] = f
	}
	if fl := k.pending[remote]; pongs > 0 && fl != nil {
		delete(k.pending, remote)
		close(fl.done)
	}
}

// streamConn is the connection sipgo uses for t (dialled when missing).
// The caller must TryClose it.
type streamConn interface {
	sip.Connection
	Write(b []byte) (int, error)
	RemoteAddr() net.Addr
}

func (e *engine) streamConn(ctx context.Context, t target) (streamConn, error) {
	req := sip.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", Host: t.host, Port: t.port})
	if err := e.route(ctx, req, t); err != nil {
		return nil, err
	}
	if err := sipgo.ClientRequestBuild(e.stream, req); err != nil {
		return nil, fmt.Errorf("build keep-alive request: %w", err)
	}
	c, err := e.ua.TransportLayer().ClientRequestConnection(ctx, req)
	if err != nil {
		return nil, err
	}
	sc, ok := c.(streamConn)
	if !ok {
		_, _ = c.TryClose()
		return nil, fmt.Errorf("connection to %s is a %T, not a stream", t, c)
	}
	return sc, nil
}

// crlf sends a double CRLF keep-alive to t. Over TCP/TLS it waits for the
// single-CRLF pong; over UDP nothing answers, so it only sends (fail stays
// answered with a nil res, and sentOnly reports it).
func (e *engine) crlf(ctx context.Context, t target, timeout time.Duration) (a answer, sentOnly bool) {
	if t.transport == "udp" {
		return e.crlfUDP(ctx, t), true
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := e.streamConn(cctx, t)
	if err != nil {
		return e.finishCRLF(ctx, t, answer{err: err}, timeout, "dial"), false
	}
	defer func() { _, _ = conn.TryClose() }()
	key := conn.RemoteAddr().String()
	f, first := e.ka.join(key)
	if first {
		if _, err := conn.Write(crlfPing); err != nil {
			e.ka.abandon(key, f)
			return e.finishCRLF(ctx, t, answer{err: err}, timeout, "write"), false
		}
	}
	select {
	case <-f.done:
		return e.finishCRLF(ctx, t, answer{rtt: time.Since(f.sent)}, timeout, ""), false
	case <-cctx.Done():
		e.ka.abandon(key, f)
		return e.finishCRLF(ctx, t, answer{err: cctx.Err()}, timeout, ""), false
	}
}

func (e *engine) crlfUDP(ctx context.Context, t target) answer {
	ip, err := e.dns.resolve(ctx, t.host)
	if err == nil {
		_, err = e.conn.WriteTo(crlfPing, net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(t.port))))
	}
	a := answer{err: err}
	if err != nil {
		a.fail = transport
		e.m.count(methodCRLF, "transport_error")
	} else {
		e.m.count(methodCRLF, "sent")
	}
	if e.trace != nil {
		note := "CRLF keep-alive sent over UDP; no answer is expected (reachability unknown)"
		if err != nil {
			note = "CRLF keep-alive over UDP failed: " + err.Error()
		}
		e.trace.exchange(exchange{target: t, note: note})
	}
	return a
}

// finishCRLF classifies, counts and traces a keep-alive over TCP/TLS.
func (e *engine) finishCRLF(ctx context.Context, t target, a answer, timeout time.Duration, stage string) answer {
	result := "pong"
	switch {
	case a.err == nil:
	case ctx.Err() != nil:
		a.fail, result = canceled, ""
	case errors.Is(a.err, context.DeadlineExceeded):
		a.fail, a.err, result = timedOut, fmt.Errorf("no pong within %s", timeout), "timeout"
	default:
		a.fail, result = transport, "transport_error"
		if stage != "" {
			a.err = fmt.Errorf("%s: %w", stage, a.err)
		}
	}
	if result != "" {
		e.m.count(methodCRLF, result)
	}
	if a.fail == answered {
		e.m.observe(methodCRLF, a.rtt)
	}
	if e.trace != nil {
		note := fmt.Sprintf("CRLF keep-alive to %s: pong in %s", t, fmtRTT(a.rtt))
		if a.fail != answered {
			note = fmt.Sprintf("CRLF keep-alive to %s: %v", t, a.err)
		}
		e.trace.exchange(exchange{target: t, note: note})
	}
	return a
}
