package api

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// serveLimited serves h with limits l on a loopback port until the test
// ends and returns its address.
func serveLimited(t *testing.T, h http.Handler, l Limits) (string, *HTTPServer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewHTTPServer(h, l, nil, discardLogger())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String(), s
}

// closedWithin reads c until the server closes it and fails the test
// unless that happens within limit; it returns what was read.
func closedWithin(t *testing.T, c net.Conn, limit time.Duration) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(limit))
	b, err := io.ReadAll(c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server kept the connection open for %v; read %q", limit, b)
	}
	return string(b)
}

func TestSlowBodyIsCutOff(t *testing.T) {
	e := newEnv(t, nil)
	addr, _ := serveLimited(t, New(e.opts), Limits{ReadTimeout: 500 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body := `{"code":"slow","domain":"slow.example.com"}`
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		collectionPath, adminToken, len(body))
	start := time.Now()
	var closed atomic.Bool
	go func() { // 1 byte every 100 ms: ~4 s for the whole body
		for i := 0; i < len(body) && !closed.Load(); i++ {
			if _, err := c.Write([]byte{body[i]}); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	// The bound only catches a hang: the drip outlasts ReadTimeout by
	// seconds, so a server that does not cut it off answers 200 below.
	got := closedWithin(t, c, 20*time.Second)
	closed.Store(true)
	t.Logf("closed after %v with %q", time.Since(start).Round(time.Millisecond), got)
	if strings.Contains(got, " 200 ") {
		t.Fatalf("a body sent at 1 byte per 100 ms was served: %q", got)
	}
}

func TestIdleKeepAliveIsClosed(t *testing.T) {
	addr, _ := serveLimited(t, New(Options{Logger: discardLogger()}), Limits{IdleTimeout: 300 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	got := closedWithin(t, c, 5*time.Second)
	if !strings.HasPrefix(got, "HTTP/1.1 200 ") {
		t.Fatalf("healthz answered %q", got)
	}
}

func TestSlowReaderIsDropped(t *testing.T) {
	big := strings.Repeat("x", 64<<20)
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, big) })
	addr, _ := serveLimited(t, h, Limits{WriteTimeout: 300 * time.Millisecond})
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(time.Second) // a client that does not read
	got := closedWithin(t, c, 20*time.Second)
	if len(got) >= len(big) {
		t.Fatalf("the whole %d bytes reached a client that did not read for 1 s", len(big))
	}
}

// TestHealthzUnderConnectionFlood attempts 20,000 connections, keeping at
// most 1,000 of them open at a time (the test's own file descriptors are
// bounded too), against a server bounded to 512, while it asks /healthz on a
// fresh connection every 20 ms.
func TestHealthzUnderConnectionFlood(t *testing.T) {
	const attempts, held, maxConns = 20000, 1000, 512
	addr, srv := serveLimited(t, New(Options{Logger: discardLogger()}), Limits{MaxConns: maxConns})
	stop := make(chan struct{})
	var peak atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ring := make([]net.Conn, held)
		defer func() {
			for _, c := range ring {
				if c != nil {
					c.Close()
				}
			}
		}()
		for i := 0; i < attempts; i++ {
			if c := ring[i%held]; c != nil {
				c.Close()
			}
			c, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err != nil {
				ring[i%held] = nil
				continue
			}
			ring[i%held] = c
			if n := int64(srv.OpenConns()); n > peak.Load() {
				peak.Store(n)
			}
		}
		close(stop)
	}()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	var lat []time.Duration
	for done := false; !done; {
		select {
		case <-stop:
			done = true
		case <-time.After(20 * time.Millisecond):
		}
		start := time.Now()
		res, err := client.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatalf("healthz during the flood: %v", err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		lat = append(lat, time.Since(start))
		if res.StatusCode != http.StatusOK {
			t.Fatalf("healthz: %d", res.StatusCode)
		}
	}
	wg.Wait()
	slices.Sort(lat)
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	t.Logf("%d connection attempts: healthz %d times, p50 %v, p99 %v, max %v; server held at most %d connections",
		attempts, len(lat), p50, p99, lat[len(lat)-1], peak.Load())
	if peak.Load() > maxConns {
		t.Errorf("server held %d connections, bound %d", peak.Load(), maxConns)
	}
	// Generous: both cores are busy under -race; a starved healthz
	// waits for its 5 s client timeout.
	if p50 > time.Second {
		t.Errorf("healthz median %v during the flood, want under 1 s", p50)
	}
}

func TestHugeQueryGetsErrorBody(t *testing.T) {
	addr, _ := serveLimited(t, New(Options{Logger: discardLogger()}), Limits{})
	res, err := http.Get("http://" + addr + "/healthz?x=" + strings.Repeat("a", maxRequestHead+10))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := resp{status: res.StatusCode, header: res.Header, body: b}
	if r.status != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %d, want 431: %s", r.status, b)
	}
	r.errorBody(t)
}

func TestContentLengthWithTransferEncodingClosesConnection(t *testing.T) {
	e := newEnv(t, nil)
	addr, _ := serveLimited(t, New(e.opts), Limits{})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"+
		"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", collectionPath, adminToken)
	got := closedWithin(t, c, 5*time.Second)
	res, err := http.ReadResponse(bufio.NewReader(strings.NewReader(got)), nil)
	if err != nil {
		t.Fatalf("read the answer %q: %v", got, err)
	}
	b, _ := io.ReadAll(res.Body)
	r := resp{status: res.StatusCode, header: res.Header, body: b}
	if r.status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400: %s", r.status, b)
	}
	r.errorBody(t)
	if strings.Count(got, "HTTP/1.1 ") != 1 {
		t.Fatalf("the pipelined request after it was served:\n%s", got)
	}
}

func TestHeadWhereGetIsAllowed(t *testing.T) {
	e := newEnv(t, nil)
	for _, path := range []string{collectionPath, collectionPath + "/" + sipnetID, "/healthz"} {
		get := e.do(req{method: http.MethodGet, path: path, token: readerToken})
		head := e.do(req{method: http.MethodHead, path: path, token: readerToken})
		if head.status != http.StatusOK || len(head.body) != 0 {
			t.Errorf("HEAD %s: %d with %d body bytes", path, head.status, len(head.body))
		}
		if head.header.Get("Content-Length") != get.header.Get("Content-Length") || head.header.Get("ETag") != get.header.Get("ETag") {
			t.Errorf("HEAD %s: headers %v differ from GET's %v", path, head.header, get.header)
		}
	}
	r := e.do(req{method: http.MethodPut, path: collectionPath, token: readerToken})
	if allow := r.header.Get("Allow"); !strings.Contains(allow, "HEAD") {
		t.Errorf("405 Allow %q lacks HEAD", allow)
	}
}
