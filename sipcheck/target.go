package sipcheck

import (
	"cmp"
	"fmt"

	"github.com/trunkd/trunkd/registry"
)

// spec is what the prober needs from a provider; two specs compare equal
// exactly when a running prober can go on unchanged.
type spec struct {
	id, code    string
	reg         bool
	bind        bool   // bind mode and (in a cluster) this node owns the trunk: the prober holds a binding
	aorUser     string // registry.Provider.AORUser: username, else login, else (registering) code
	authUser    string // registry.Provider.AuthUser: login, else username, else (registering) code
	pwd         string
	domain      string
	proxyAddr   string
	proxyPort   int
	transport   string
	altProxies  string
	expires     int
	pingMode    string
	pingSrv     string
	pingTimeout int
	localDomain string
}

func specOf(p *registry.Provider) spec {
	return spec{
		id: p.ID, code: p.Code, reg: p.Reg == 1,
		aorUser: p.AORUser(), authUser: p.AuthUser(), pwd: p.Pwd,
		domain: p.Domain, proxyAddr: p.ProxyAddr, proxyPort: p.ProxyPort,
		transport: p.Transport, altProxies: p.AlternativeProxies,
		expires: p.Expires, pingMode: p.PingMode, pingSrv: p.PingSrv,
		pingTimeout: p.PingTimeout, localDomain: p.LocalDomain,
	}
}

// target is one place to send requests to.
type target struct {
	transport string // udp, tcp or tls
	host      string
	port      int
}

// String formats the target as alternative_proxies does: udp:host:port.
func (t target) String() string {
	return t.transport + ":" + registry.JoinHostPort(t.host, t.port)
}

func defaultPort(transport string) int {
	if transport == "tls" {
		return 5061
	}
	return 5060
}

// targets lists where REGISTER (and pings without pingsrv) go, in failover
// order: proxyaddr:proxyport or domain, then alternative_proxies.
func (s *spec) targets() ([]target, error) {
	tr := cmp.Or(s.transport, "udp")
	first := target{transport: tr, host: s.domain, port: defaultPort(tr)}
	if s.proxyAddr != "" {
		first.host = s.proxyAddr
		if s.proxyPort != 0 {
			first.port = s.proxyPort
		}
	}
	if first.host == "" {
		return nil, fmt.Errorf("trunk %q has neither proxyaddr nor domain", s.code)
	}
	alts, err := registry.ParseProxies(s.altProxies)
	if err != nil {
		return nil, fmt.Errorf("trunk %q: alternative_proxies: %w", s.code, err)
	}
	out := []target{first}
	for _, a := range alts {
		out = append(out, target{transport: a.Transport, host: a.Host, port: a.Port})
	}
	return out, nil
}

// pingTarget is pingsrv (host[:port], the trunk's transport) when set.
func (s *spec) pingTarget() (target, bool, error) {
	if s.pingSrv == "" {
		return target{}, false, nil
	}
	host, port, err := registry.SplitHostPort(s.pingSrv)
	if err != nil {
		return target{}, false, fmt.Errorf("trunk %q: pingsrv: %w", s.code, err)
	}
	tr := cmp.Or(s.transport, "udp")
	return target{transport: tr, host: host, port: cmp.Or(port, defaultPort(tr))}, true, nil
}
