package importer

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/trunkd/trunkd/registry"
)

// transportClue is one hint at a trunk's transport and where it is written.
type transportClue struct {
	value, from string
	opt         confOption
}

// transport decides udp, tcp or tls: the protocol of the transport
// section the endpoint (or registration) names, else a ;transport= URI
// parameter (or sips:), else the transport's name, else udp.
func (t *pjTrunk) transport() {
	explicit, guess := t.transportClues()
	chosen := guess
	if len(explicit) > 0 {
		chosen = explicit[0]
	}
	for _, c := range append(explicit, chosen) {
		if _, ok := knownTransport(c.value); !ok {
			t.fail(c.opt.file, c.opt.line, "transport %q (%s) is not one trunkd knows (udp, tcp, tls)", c.value, c.from)
			return
		}
		if c.value != chosen.value {
			t.warn(c.opt.file, c.opt.line, "transport %s (%s) contradicts %s (%s): %s is imported", c.value, c.from, chosen.value, chosen.from, chosen.value)
		}
	}
	p := t.p()
	p.Transport = chosen.value
	switch {
	case chosen.value == "":
		p.Transport = "udp"
		t.comment("transport", "not in the source: udp")
	case len(explicit) == 0:
		t.comment("transport", chosen.from)
	}
}

// transportClues gathers the explicit clues (transport sections, URI
// parameters) in order of trust, and the first guess from a name.
func (t *pjTrunk) transportClues() ([]transportClue, transportClue) {
	var explicit []transportClue
	var guess transportClue
	for _, o := range []*pjObject{t.ep, t.reg} {
		if o == nil {
			continue
		}
		name, opt := o.get("transport")
		if name == "" {
			continue
		}
		if tr := t.ai.objs["transport/"+name]; tr != nil {
			proto, protoOpt := tr.get("protocol")
			if proto == "" {
				proto, protoOpt = "udp", opt
			}
			explicit = append(explicit, transportClue{strings.ToLower(proto), fmt.Sprintf("protocol of transport [%s]", name), protoOpt})
		} else if g := transportFromName(name); g != "" && guess.value == "" {
			guess = transportClue{g, fmt.Sprintf("guessed from the transport name %q (its type=transport section is not in the imported files)", name), opt}
		} else if g == "" {
			t.note(opt.file, opt.line, "transport %q is not defined in the imported files and its name says no protocol", name)
		}
	}
	for _, u := range []struct {
		a        sipAddr
		o        *pjObject
		key, why string
	}{{t.server, t.reg, "server_uri", "server_uri"}, {t.client, t.reg, "client_uri", "client_uri"},
		{t.proxy, t.proxySrc, "outbound_proxy", "outbound_proxy"}, {t.contact, t.aor, "contact", "aor contact"}} {
		if tr := u.a.transport(); tr != "" {
			explicit = append(explicit, transportClue{tr, u.why, u.o.last[u.key]})
		}
	}
	return explicit, guess
}

// transportFromName finds udp, tcp, tls (or ws, wss, which trunkd does
// not know) as a word of a transport's name: "transport-udp" → udp.
func transportFromName(name string) string {
	words := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
	for _, w := range words {
		switch w {
		case "udp", "tcp", "tls", "ws", "wss":
			return w
		}
	}
	return ""
}

// matches turns the identifies' match lists into extaddrs: every host
// except the next host, which trunkd matches anyway.
func (t *pjTrunk) matches() {
	p := t.p()
	next := p.ProxyAddr
	if next == "" {
		next = p.Domain
	}
	seen := map[string]bool{}
	var out []string
	sawNext := false
	for _, id := range t.ep.idents {
		id.used["match"] = true
		for _, opt := range id.all["match"] {
			for _, it := range items(opt.value) {
				host, ok := matchHost(it)
				if !ok {
					t.warn(opt.file, opt.line, "identify match %q is a network or not a host: extaddrs holds host names and addresses, so it is not imported (inbound requests from it will not match)", it)
					continue
				}
				if strings.EqualFold(host, next) {
					sawNext = true
					continue
				}
				if !seen[host] {
					seen[host] = true
					out = append(out, host)
				}
			}
		}
	}
	p.ExtAddrs = strings.Join(out, ",")
	if len(t.ep.idents) > 0 && !sawNext && next != "" {
		t.comment("extaddrs", "trunkd also matches inbound requests from "+next+" (the next hop), which the identify did not list")
	}
}

// matchHost accepts a host, host:port, or a single-address prefix
// (a.b.c.d/32, v6/128) of an identify match entry.
func matchHost(s string) (string, bool) {
	if pfx, err := netip.ParsePrefix(s); err == nil {
		if pfx.IsSingleIP() {
			return pfx.Addr().String(), true
		}
		return "", false
	}
	if host, _, err := registry.SplitHostPort(s); err == nil {
		return host, true
	}
	if _, err := netip.ParseAddr(s); err == nil { // a bare IPv6 address
		return s, true
	}
	return "", false
}

// asteriskBool parses Asterisk's ast_true/ast_false words.
func asteriskBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "yes", "true", "y", "t", "1", "on":
		return true, true
	case "no", "false", "n", "f", "0", "off":
		return false, true
	}
	return false, false
}
