package fakeprovider

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/trunkd/trunkd/sipcheck/sipconn"
)

// Config configures a Provider.
type Config struct {
	Realm                string // digest realm, default "trunkd.test"
	Users                []User
	ProxyAuth            bool // challenge with 407 Proxy-Authenticate instead of 401
	ForbidBadCredentials bool // answer wrong credentials with 403 instead of a new challenge
	MinExpires           int  // 423 below this many seconds; 0: no minimum
	MaxExpires           int  // granted expiry cap, default 3600
	// Hook sees every request before the provider; a Reply with a Response
	// or Drop set ends the handling there.
	Hook   func(req *sip.Request) Reply
	Logger *slog.Logger     // nil: discard
	Now    func() time.Time // nil: time.Now (binding expiry)
}

// Reply is what a Hook decides: send Response, drop the request silently,
// or (zero Reply) let the provider handle it.
type Reply struct {
	Response *sip.Response
	Drop     bool
}

// Provider is a running fake SIP provider.
type Provider struct {
	cfg   Config
	log   *slog.Logger
	users map[string]string
	ua    *sipgo.UserAgent
	srv   *sipgo.Server
	udp   net.PacketConn
	tcp   net.Listener
	tls   net.Listener // nil unless ListenTLS was called
	nonce nonces
	peers sipconn.Peers // TCP/TLS clients, closed socket first at the end

	mu       sync.Mutex
	bindings map[string]map[string]Binding // aor → contact URI → binding
	history  []Register                    // the last REGISTERs, for Registers

	options, registers, registered atomic.Int64
}

// New builds a provider; Listen binds it and Serve runs it.
func New(cfg Config) (*Provider, error) {
	cfg.Realm = cmp.Or(cfg.Realm, "trunkd.test")
	if cfg.MaxExpires <= 0 {
		cfg.MaxExpires = 3600
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))
	p := &Provider{cfg: cfg, log: log, users: map[string]string{}, bindings: map[string]map[string]Binding{}}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("trunkd-fakeprovider"),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(log),
			sip.WithTransportLayerReadFilter(func(props sip.TransportReadProps, data []byte) ([]byte, error) {
				p.peers.Note(props)
				return data, nil
			})),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(log)))
	if err != nil {
		return nil, fmt.Errorf("fakeprovider: user agent: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("fakeprovider: server: %w", err)
	}
	p.ua, p.srv = ua, srv
	for _, u := range cfg.Users {
		p.users[u.Username] = u.Password
	}
	srv.OnRegister(p.hooked(p.onRegister))
	srv.OnOptions(p.hooked(p.onOptions))
	return p, nil
}

// Listen binds UDP and TCP on the same address; port 0 picks a port free
// on both.
func (p *Provider) Listen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("fakeprovider: listen address %q: %w", addr, err)
	}
	for try := 0; try < 50; try++ {
		udp, err := net.ListenPacket("udp", addr)
		if err != nil {
			return fmt.Errorf("fakeprovider: listen udp %s: %w", addr, err)
		}
		_, got, _ := net.SplitHostPort(udp.LocalAddr().String())
		tcp, err := net.Listen("tcp", net.JoinHostPort(host, got))
		if err == nil {
			p.udp, p.tcp = udp, tcp
			return nil
		}
		udp.Close()
		if port != "0" {
			return fmt.Errorf("fakeprovider: listen tcp %s: %w", addr, err)
		}
	}
	return fmt.Errorf("fakeprovider: no port free on both udp and tcp at %s", host)
}

// Addr is the bound host:port (the same for UDP and TCP).
func (p *Provider) Addr() string { return p.udp.LocalAddr().String() }

// ListenTLS binds a TLS listener at addr (port 0: any free port) that
// presents conf's certificate; call it before Serve, in addition to
// Listen. Requests and CRLF keep-alives over TLS are handled like over TCP.
func (p *Provider) ListenTLS(addr string, conf *tls.Config) error {
	if conf == nil || (len(conf.Certificates) == 0 && conf.GetCertificate == nil) {
		return errors.New("fakeprovider: ListenTLS needs a tls.Config with a certificate")
	}
	l, err := tls.Listen("tcp", addr, conf)
	if err != nil {
		return fmt.Errorf("fakeprovider: listen tls %s: %w", addr, err)
	}
	p.tls = l
	return nil
}

// TLSAddr is the bound TLS host:port ("" without ListenTLS).
func (p *Provider) TLSAddr() string {
	if p.tls == nil {
		return ""
	}
	return p.tls.Addr().String()
}

// Serve answers requests until ctx ends, then closes the sockets.
func (p *Provider) Serve(ctx context.Context) error {
	if p.udp == nil {
		return errors.New("fakeprovider: Serve before Listen")
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = p.srv.ServeUDP(p.udp) })
	wg.Go(func() { _ = p.srv.ServeTCP(p.tcp) })
	if p.tls != nil {
		wg.Go(func() { _ = p.srv.ServeTLS(p.tls) })
	}
	<-ctx.Done()
	p.udp.Close()
	p.tcp.Close()
	if p.tls != nil {
		p.tls.Close()
	}
	p.peers.Close(p.ua.TransportLayer(), time.Second)
	p.ua.Close()
	wg.Wait()
	return nil
}

// Stats counts the requests handled (after the hook).
type Stats struct {
	Options    int64 // OPTIONS answered
	Registers  int64 // REGISTER received
	Registered int64 // REGISTER answered 200
}

// Stats returns the request counters.
func (p *Provider) Stats() Stats {
	return Stats{Options: p.options.Load(), Registers: p.registers.Load(), Registered: p.registered.Load()}
}

func (p *Provider) hooked(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		if p.cfg.Hook != nil {
			r := p.cfg.Hook(req)
			if r.Drop {
				return
			}
			if r.Response != nil {
				p.respond(tx, r.Response)
				return
			}
		}
		h(req, tx)
	}
}

func (p *Provider) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	p.options.Add(1)
	p.respond(tx, Response(req, sip.StatusOK, "OK", "Allow", "REGISTER, OPTIONS"))
}

func (p *Provider) respond(tx sip.ServerTransaction, res *sip.Response) {
	if err := tx.Respond(res); err != nil {
		p.log.Debug("fakeprovider: respond", "code", res.StatusCode, "error", err)
	}
}

// Response builds a response to req with extra headers given as name,
// value pairs (for hooks too).
func Response(req *sip.Request, code int, reason string, hdrs ...string) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for i := 0; i+1 < len(hdrs); i += 2 {
		res.AppendHeader(sip.NewHeader(hdrs[i], hdrs[i+1]))
	}
	return res
}
