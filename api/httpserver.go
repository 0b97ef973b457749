package api

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Limits bound what clients can hold of the HTTP server. A zero field
// takes its default (DefaultLimits).
type Limits struct {
	// ReadHeaderTimeout is the time to send the request line and headers.
	ReadHeaderTimeout time.Duration
	// ReadTimeout is the time to send the whole request, body included:
	// a body trickled at 1 byte/s is cut off and its connection closed.
	ReadTimeout time.Duration
	// WriteTimeout is the time from the end of the request headers to the
	// end of the response: a client that stops reading is dropped.
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection with no request in flight.
	IdleTimeout time.Duration
	// MaxConns bounds the open connections. At the bound, a new
	// connection closes the connection that has been idle the longest; if
	// every connection is inside a request, the new one is closed.
	MaxConns int
}

// DefaultLimits are the limits of a zero Limits field.
var DefaultLimits = Limits{
	ReadHeaderTimeout: 10 * time.Second,
	ReadTimeout:       30 * time.Second,
	WriteTimeout:      60 * time.Second,
	IdleTimeout:       120 * time.Second,
	MaxConns:          1024,
}

// withDefaults fills the zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.ReadHeaderTimeout > 0 {
		d.ReadHeaderTimeout = l.ReadHeaderTimeout
	}
	if l.ReadTimeout > 0 {
		d.ReadTimeout = l.ReadTimeout
	}
	if l.WriteTimeout > 0 {
		d.WriteTimeout = l.WriteTimeout
	}
	if l.IdleTimeout > 0 {
		d.IdleTimeout = l.IdleTimeout
	}
	if l.MaxConns > 0 {
		d.MaxConns = l.MaxConns
	}
	return d
}

// maxHeaderBytes is what net/http reads of a request's line and headers
// before it answers its own plain-text 431 and hangs up; maxRequestHead is
// the bound above which we answer 431 with the error body. The gap is
// what lets a client that sends a query over 1 MiB read why it failed.
const (
	maxRequestHead = 1 << 20
	maxHeaderBytes = 2 << 20
)

// HTTPServer serves the API on one listener with Limits, over TLS when
// given a TLS config.
type HTTPServer struct {
	srv *http.Server
	lim *connLimiter
	tls *tls.Config
	log *slog.Logger
}

// NewHTTPServer returns a server of h with limits l; tlsCfg nil serves
// plain HTTP.
func NewHTTPServer(h http.Handler, l Limits, tlsCfg *tls.Config, log *slog.Logger) *HTTPServer {
	if log == nil {
		log = slog.Default()
	}
	l = l.withDefaults()
	lim := newConnLimiter(l.MaxConns)
	srv := &http.Server{
		Handler:           guardRequest(h, log),
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ConnState:         lim.track,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return &HTTPServer{srv: srv, lim: lim, tls: tlsCfg, log: log}
}

// Serve serves on ln until ctx ends, then shuts down: requests in flight
// get up to 10 s to finish. It closes ln.
func (s *HTTPServer) Serve(ctx context.Context, ln net.Listener) error {
	if s.tls != nil {
		ln = tls.NewListener(ln, s.tls)
	}
	s.lim.Listener = ln
	done := make(chan error, 1)
	go func() { done <- s.srv.Serve(s.lim) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(shutCtx); err != nil {
		s.log.Warn("http shutdown cut requests in flight short", "error", err)
		_ = s.srv.Close()
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// OpenConns is the number of connections the server holds open.
func (s *HTTPServer) OpenConns() int { return s.lim.open() }

// guardRequest refuses, before any routing or authentication, what
// net/http lets through but the API must not serve:
//
//   - a request line and headers over maxRequestHead: 431 with the error
//     body (net/http's own 431 above maxHeaderBytes is plain text);
//   - a request with Transfer-Encoding: 400, and the connection is closed.
//     net/http serves a request with both Content-Length and
//     Transfer-Encoding by the latter and drops the former, so a handler
//     cannot tell the two apart; RFC 9112 §6.1 wants such a connection
//     closed after the answer. The API's bodies are small JSON documents
//     that every client sends with Content-Length, so chunked bodies are
//     refused altogether.
func guardRequest(next http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TransferEncoding) > 0 {
			w.Header().Set("Connection", "close")
			writeError(w, r, log, badRequest("Transfer-Encoding is not accepted: send the body with Content-Length "+
				"(a request with both is refused and its connection closed, RFC 9112 §6.1)"))
			return
		}
		if requestHeadSize(r) > maxRequestHead {
			w.Header().Set("Connection", "close")
			writeError(w, r, log, errorf(http.StatusRequestHeaderFieldsTooLarge,
				"request line and headers are larger than 1 MiB (a query that long is never needed)"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requestHeadSize approximates the bytes of the request line and headers.
func requestHeadSize(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}
