package sipcheck

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/trunkd/trunkd/sipcheck/sipconn"
)

// engine is the one sipgo user agent shared by every trunk: a UDP socket
// bound to probe.listen (every UDP request leaves from it and every answer
// returns to it), a client for UDP and one for TCP/TLS on the same UA, a
// small server that answers OPTIONS sent to our Contact, a DNS cache and
// the CRLF keep-alive bookkeeping.
type engine struct {
	ua        *sipgo.UserAgent
	udp       *sipgo.Client
	stream    *sipgo.Client
	srv       *sipgo.Server
	conn      net.PacketConn
	laddr     netip.AddrPort
	advHost   string
	advPort   int
	dns       *resolver
	ka        *keepalives
	peers     sipconn.Peers // TCP/TLS peers, closed socket first at close
	m         *metrics
	trace     tracer
	userAgent string
	log       *slog.Logger
	wg        sync.WaitGroup
	closeOnce sync.Once
}

type engineOptions struct {
	listen, advertise string
	metrics           *metrics
	log               *slog.Logger
	trace             tracer
	userAgent         string
	tlsRoots          *x509.CertPool // nil: the system roots
}

func newEngine(o engineOptions) (*engine, error) {
	conn, err := net.ListenPacket("udp", o.listen)
	if err != nil {
		return nil, fmt.Errorf("probe: listen udp %s: %w", o.listen, err)
	}
	laddr, err := netip.ParseAddrPort(conn.LocalAddr().String())
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("probe: local address %s: %w", conn.LocalAddr(), err)
	}
	e := &engine{conn: conn, laddr: laddr, dns: newResolver(), ka: newKeepalives(), m: o.metrics,
		trace: o.trace, userAgent: o.userAgent, log: o.log}
	if err := e.setAdvertise(o.advertise); err != nil {
		conn.Close()
		return nil, err
	}
	if err := e.build(o.tlsRoots); err != nil {
		conn.Close()
		return nil, err
	}
	e.wg.Go(func() { _ = e.srv.ServeUDP(conn) })
	if err := e.waitListener(); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

// setAdvertise picks the host and port written in Via and Contact.
func (e *engine) setAdvertise(adv string) error {
	e.advPort = int(e.laddr.Port())
	if adv != "" {
		host, port, err := splitAdvertise(adv)
		if err != nil {
			return fmt.Errorf("probe.advertise: %w", err)
		}
		e.advHost = host
		if port != 0 {
			e.advPort = port
		}
		return nil
	}
	ip := e.laddr.Addr().Unmap()
	if ip.IsUnspecified() {
		ip = outboundIP(ip.Is6())
	}
	e.advHost = ip.String()
	return nil
}

func splitAdvertise(s string) (string, int, error) {
	if host, portText, err := net.SplitHostPort(s); err == nil {
		port, err := strconv.Atoi(portText)
		if err != nil || port < 1 || port > 65535 {
			return "", 0, fmt.Errorf("%q has no valid port", s)
		}
		return host, port, nil
	}
	if strings.ContainsAny(s, " \t\r\n") || s == "" {
		return "", 0, fmt.Errorf("%q is not host[:port]", s)
	}
	return strings.Trim(s, "[]"), 0, nil
}

// outboundIP is the address of the interface with the default route (a
// UDP "connect" sends nothing); loopback when there is none.
func outboundIP(v6 bool) netip.Addr {
	network, probe := "udp4", "192.0.2.1:9"
	if v6 {
		network, probe = "udp6", "[2001:db8::1]:9"
	}
	if c, err := net.Dial(network, probe); err == nil {
		defer c.Close()
		if a, err := netip.ParseAddrPort(c.LocalAddr().String()); err == nil {
			return a.Addr()
		}
	}
	if v6 {
		return netip.IPv6Loopback()
	}
	return netip.AddrFrom4([4]byte{127, 0, 0, 1})
}

// tlsConfig is the UA's one TLS client config. ServerName stays empty so
// that sipgo verifies each connection against the host it dials: the
// target's host name, or its IP (then the certificate needs an IP SAN).
func tlsConfig(roots *x509.CertPool) *tls.Config {
	return &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
}

// build creates the UA, its clients and the server.
func (e *engine) build(roots *x509.CertPool) error {
	sipLog := e.log.With("component", "sipgo")
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(e.userAgent), sipgo.WithUserAgentHostname(e.advHost),
		sipgo.WithUserAgenTLSConfig(tlsConfig(roots)),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(sipLog),
			sip.WithTransportLayerReadFilter(e.readFilter)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(sipLog),
			sip.WithTransactionLayerUnhandledResponseHandler(func(*sip.Response) { e.m.late.Inc() })))
	if err != nil {
		return fmt.Errorf("probe: user agent: %w", err)
	}
	e.ua = ua
	udpOpts := []sipgo.ClientOption{sipgo.WithClientHostname(e.advHost), sipgo.WithClientLogger(sipLog),
		sipgo.WithClientConnectionAddr(e.laddr.String())}
	if e.advPort != int(e.laddr.Port()) {
		udpOpts = append(udpOpts, sipgo.WithClientPort(e.advPort))
	}
	streamOpts := []sipgo.ClientOption{sipgo.WithClientHostname(e.advHost), sipgo.WithClientLogger(sipLog)}
	if ip := e.laddr.Addr(); !ip.IsUnspecified() {
		// TCP/TLS: dial from the listen IP on an ephemeral port; a fixed
		// port would make sipgo reuse one connection for every peer.
		streamOpts = append(streamOpts, sipgo.WithClientConnectionAddr(netip.AddrPortFrom(ip, 0).String()))
	}
	if e.udp, err = sipgo.NewClient(ua, udpOpts...); err == nil {
		e.stream, err = sipgo.NewClient(ua, streamOpts...)
	}
	if err == nil {
		e.srv, err = sipgo.NewServer(ua, sipgo.WithServerLogger(sipLog))
	}
	if err != nil {
		ua.Close()
		return fmt.Errorf("probe: sip client: %w", err)
	}
	e.srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	})
	return nil
}

// waitListener waits until sipgo has put the UDP socket in its pool, so
// that the first request reuses it instead of binding a second socket.
func (e *engine) waitListener() error {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := e.ua.TransportLayer().GetConnection("udp", e.laddr.String()); err == nil {
			_, _ = c.TryClose() // GetConnection took a reference
			return nil
		}
		time.Sleep(time.Millisecond)
	}
	return errors.New("probe: the UDP listener did not start")
}

// close stops the UA and the socket and waits for the reader.
func (e *engine) close() {
	e.closeOnce.Do(func() {
		e.peers.Close(e.ua.TransportLayer(), time.Second)
		e.conn.Close()
		e.ua.Close()
		e.wg.Wait()
	})
}

// contact is the Contact URI of our bindings: the UDP listener.
func (e *engine) contact(user string) sip.Uri {
	u := sip.Uri{Scheme: "sip", User: user, Host: e.advHost, Port: e.advPort,
		UriParams: sip.NewParams()}
	u.UriParams.Add("transport", "udp")
	return u
}

func (e *engine) client(t target) *sipgo.Client {
	if t.transport == "udp" {
		return e.udp
	}
	return e.stream
}

// route sets transport and destination; host names are resolved through
// the cache, except for TLS where sipgo must verify the name.
func (e *engine) route(ctx context.Context, req *sip.Request, t target) error {
	req.SetTransport(strings.ToUpper(t.transport))
	if t.transport == "tls" {
		req.SetDestination(net.JoinHostPort(t.host, strconv.Itoa(t.port)))
		return nil
	}
	ip, err := e.dns.resolve(ctx, t.host)
	if err != nil {
		return err
	}
	dest := netip.AddrPortFrom(ip, uint16(t.port)).String()
	if t.transport == "tcp" {
		e.peers.Add("tcp", dest)
	}
	req.SetDestination(dest)
	return nil
}
