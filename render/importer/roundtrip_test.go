package importer_test

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/render/importer"
)

// carried is what one engine file holds of a provider, normalised the way
// the render templates write it. Two providers are equivalent for a format
// when their carried values are equal.
type carried struct {
	Code      string
	AORUser   string // username, else login
	AuthUser  string // login, else username
	Pwd       string
	Domain    string
	NextHop   string // proxyaddr:port (port 0 → 5060, 5061 for tls) when proxyaddr is set
	Transport string
	Enabled   int // 1: only active trunks are rendered
	ServerIdx int // not in the file: the import's --server-index
	Reg       int
	Expires   int // when reg is 1: expires, 0 → 600
	Pings     bool
	PingEvery int // when pinging: pingtimeout (freeswitch: at least 5)
	// Asterisk only.
	MatchHosts  string // the set of inbound addresses: next host, alternative proxy hosts, extaddrs
	DirectMedia bool   // media 0 and reinvite 1
}

// asteriskCarried: asterisk/pjsip.conf carries code, AOR and digest user,
// pwd, domain, next hop, transport, reg, expires, whether and how often it
// pings, the inbound match set and direct media. It does not carry id,
// rn versus options (both qualify), pingsrv, the ports and transports of
// alternative_proxies (their hosts are in the match set), localdomain,
// translit, lic, trunksout, opts or ext.
func asteriskCarried(p *registry.Provider) carried {
	c := common(p)
	next := p.Domain
	if p.ProxyAddr != "" {
		next = p.ProxyAddr
	}
	set := map[string]bool{next: true}
	proxies, _ := registry.ParseProxies(p.AlternativeProxies)
	for _, pr := range proxies {
		set[pr.Host] = true
	}
	for _, h := range registry.SplitList(p.ExtAddrs) {
		set[h] = true
	}
	var hosts []string
	for h := range set {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	c.MatchHosts = strings.Join(hosts, ",")
	c.DirectMedia = p.Media == 0 && p.Reinvite == 1
	return c
}

// freeswitchCarried: freeswitch/gateways.xml carries code, AOR and digest
// user, pwd, domain, next hop, transport, reg, expires, and the ping
// interval (at least 5 s). It does not carry extaddrs, alternative_proxies,
// media, reinvite, rn versus options, pingsrv, localdomain, translit, lic,
// trunksout, opts, id or ext.
func freeswitchCarried(p *registry.Provider) carried {
	c := common(p)
	if c.Pings {
		c.PingEvery = max(c.PingEvery, 5)
	}
	return c
}

func common(p *registry.Provider) carried {
	c := carried{Code: p.Code, AORUser: p.Username, AuthUser: p.Login, Pwd: p.Pwd, Domain: p.Domain,
		Transport: p.Transport, Enabled: p.Enabled, ServerIdx: p.ServerIdx, Reg: p.Reg}
	if c.AORUser == "" {
		c.AORUser = p.Login
	}
	if c.AuthUser == "" {
		c.AuthUser = p.Username
	}
	if p.ProxyAddr != "" {
		port := p.ProxyPort
		if port == 0 {
			port = map[bool]int{true: 5061, false: 5060}[p.Transport == "tls"]
		}
		c.NextHop = registry.JoinHostPort(p.ProxyAddr, port)
	}
	if p.Reg == 1 {
		c.Expires = p.Expires
		if c.Expires == 0 {
			c.Expires = 600
		}
	}
	if p.PingMode != "none" {
		c.Pings, c.PingEvery = true, p.PingTimeout
	}
	return c
}

// roundTripFormats are the built-in templates an import reads back.
var roundTripFormats = []struct {
	format, template string
	carried          func(*registry.Provider) carried
}{
	{"asterisk", "asterisk/pjsip.conf", asteriskCarried},
	{"freeswitch", "freeswitch/gateways.xml", freeswitchCarried},
}

// TestRoundTrip renders the example providers (and the render package's
// fixtures, which add TLS, IPv6, reg 0 without credentials and a password
// holding every separator) for server 11 through the render package,
// imports the Asterisk and FreeSWITCH files and checks that (1) every
// active trunk comes back, with no issue at all, (2) each is equivalent to
// its original for the fields the format carries (see carried), and
// (3) rendering the imported providers gives the same file byte for byte.
func TestRoundTrip(t *testing.T) {
	for name, dir := range map[string]string{"examples": "../../examples/providers", "render-fixtures": "../testdata/providers"} {
		snap := openSnapshot(t, copyProviders(t, dir))
		want := map[string]*registry.Provider{}
		for _, p := range snap.Providers() {
			if p.Active(11) {
				want[p.Code] = p
			}
		}
		if len(want) < 4 {
			t.Fatalf("%s: only %d active providers for server 11: the round trip needs the fixtures", dir, len(want))
		}
		for _, f := range roundTripFormats {
			t.Run(name+"/"+f.format, func(t *testing.T) {
				rendered := renderTemplate(t, snap, f.template, 11)
				res, err := importer.Import(f.format, []importer.Source{{Name: f.template, Data: []byte(rendered)}}, importer.Options{ServerIndex: 11})
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Issues) > 0 {
					t.Errorf("importing our own %s output reports issues:\n%s", f.template, issueLines(res.Issues))
				}
				if len(res.Trunks) != len(want) {
					t.Errorf("imported %v, want the %d active trunks", codes(res.Trunks), len(want))
				}
				for _, tr := range res.Trunks {
					orig := want[tr.Provider.Code]
					if orig == nil {
						t.Errorf("imported %q, which is not an active example trunk", tr.Provider.Code)
						continue
					}
					if got, exp := f.carried(&tr.Provider), f.carried(orig); got != exp {
						t.Errorf("%s: not equivalent for %s:\n got %s\nwant %s", orig.Code, f.format, fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", exp))
					}
				}
				out := t.TempDir()
				if _, issues, err := importer.Write(out, res.Trunks, importer.WriteOptions{}); err != nil || len(issues) > 0 {
					t.Fatalf("write: %v %v", err, issues)
				}
				again := renderTemplate(t, openSnapshot(t, out), f.template, 11)
				if again != rendered {
					t.Errorf("rendering the imported providers differs from the first render:\n--- first\n%s\n--- again\n%s", rendered, again)
				}
			})
		}
	}
}

// TestRoundTripDetectsLoss guards the equivalence check itself: a provider
// that differs in a carried field is not equivalent, one that differs in a
// field the format does not carry is.
func TestRoundTripDetectsLoss(t *testing.T) {
	base := registry.Default()
	base.Code, base.Domain, base.Username, base.Pwd = "x", "sip.x.example", "u", "p"
	for _, f := range roundTripFormats {
		for field, mutate := range map[string]func(*registry.Provider){
			"pwd":       func(p *registry.Provider) { p.Pwd = "q" },
			"proxyport": func(p *registry.Provider) { p.ProxyAddr, p.ProxyPort = "sbc.x.example", 5080 },
			"transport": func(p *registry.Provider) { p.Transport = "tcp" },
			"expires":   func(p *registry.Provider) { p.Expires = 300 },
			"pingmode":  func(p *registry.Provider) { p.PingMode = "options" },
		} {
			q := base
			mutate(&q)
			if reflect.DeepEqual(f.carried(&q), f.carried(&base)) {
				t.Errorf("%s: a change of %s is not detected", f.format, field)
			}
		}
		q := base
		q.LocalDomain, q.Opts.Title, q.TrunksOut = "pbx.local", "t", 3
		if !reflect.DeepEqual(f.carried(&q), f.carried(&base)) {
			t.Errorf("%s: fields the format does not carry count", f.format)
		}
	}
}
