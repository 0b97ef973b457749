package render

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/trunkd/trunkd/registry"
)

// defaultExpires is the registration interval written for a trunk whose
// expires is 0 (the registry's default for an absent field).
const defaultExpires = 600

// Data is what a template executes on. The same data is given to built-in
// and operator templates.
type Data struct {
	Target      string            // the target's name
	ServerIndex int               // the configured server_index, -1 when unset
	Trunks      []*Trunk          // active trunks, sorted by code
	Registering []*Trunk          // the Trunks that register on this node (Trunk.Registers), in the same order
	Vars        map[string]string // the target's vars from the config
}

// Trunk is one active provider: every field of registry.Provider under
// its Go name (.Code, .Pwd, .Domain, .ProxyAddr, .Lic.SipTrunks, ...), plus
// the values every engine derives from it (DESIGN.md §6). The provider's
// fields are copied rather than embedded: text/template looks fields of
// embedded structs up several times slower.
type Trunk struct {
	ID                 string
	Code               string
	Enabled            int
	Username           string
	Login              string
	Pwd                string
	Domain             string
	ProxyAddr          string
	ProxyPort          int
	Transport          string
	AlternativeProxies string
	ExtAddrs           string
	ServerIdx          int
	Reg                int
	Expires            int
	PingMode           string
	PingSrv            string
	PingTimeout        int
	LocalDomain        string
	Media              int
	Reinvite           int
	Translit           int
	Lic                registry.Lic
	TrunksOut          int
	Opts               registry.Opts
	Ext                registry.Ext

	AORUser     string           // registry.Provider.AORUser: username, login, or the code of a registering trunk
	AuthUser    string           // registry.Provider.AuthUser: login, username, or the code of a registering trunk
	HasProxy    bool             // proxyaddr is set
	NextHost    string           // proxyaddr when set, else domain
	NextPort    int              // proxyport (0 → 5060, 5061 for tls) with a proxy; 0 without one
	Proxies     []registry.Proxy // alternative_proxies, in order
	ExtAddrList []string         // extaddrs, split
	MatchHosts  []string         // where inbound requests come from: next host, alternative proxies, extaddrs (no duplicates)
	Registers   bool             // reg: 1, and this node owns the trunk and is not fenced (see "Cluster")
	Pings       bool             // pingmode is not none
	RegExpires  int              // expires, or 600 when it is 0
	PingHost    string           // host of pingsrv, "" when unset
	PingPort    int              // port of pingsrv, 0 when not given
}

// trunkSet is the active trunks of one snapshot, shared by every target.
type trunkSet struct {
	snap        *registry.Snapshot
	trunks      []*Trunk
	registering []*Trunk
	failed      []trunkFailure // active providers whose values cannot be derived (left out)
	own         Ownership      // the ownership Registers was derived with
}

// trunkFailure is a trunk whose block (or derived values) failed.
type trunkFailure struct {
	code string
	err  error
	kept bool // its last good output stays in the file
}

// withholds reports whether code is an active trunk with reg: 1 that
// does not register on this node (another node owns it, or this one is
// fenced). The trunks are sorted by code.
func (s trunkSet) withholds(code string) bool {
	i, ok := slices.BinarySearchFunc(s.trunks, code, func(t *Trunk, c string) int { return strings.Compare(t.Code, c) })
	return ok && s.trunks[i].Reg == 1 && !s.trunks[i].Registers
}

// newData is the template data of one target.
func newData(target string, serverIndex int, vars map[string]string, set trunkSet) *Data {
	if vars == nil {
		vars = map[string]string{}
	}
	return &Data{Target: target, ServerIndex: serverIndex, Trunks: set.trunks, Registering: set.registering, Vars: vars}
}

func newTrunk(p *registry.Provider) (Trunk, error) {
	t := Trunk{
		ID: p.ID, Code: p.Code, Enabled: p.Enabled, Username: p.Username, Login: p.Login, Pwd: p.Pwd,
		Domain: p.Domain, ProxyAddr: p.ProxyAddr, ProxyPort: p.ProxyPort, Transport: p.Transport,
		AlternativeProxies: p.AlternativeProxies, ExtAddrs: p.ExtAddrs, ServerIdx: p.ServerIdx, Reg: p.Reg,
		Expires: p.Expires, PingMode: p.PingMode, PingSrv: p.PingSrv, PingTimeout: p.PingTimeout,
		LocalDomain: p.LocalDomain, Media: p.Media, Reinvite: p.Reinvite, Translit: p.Translit, Lic: p.Lic,
		TrunksOut: p.TrunksOut, Opts: p.Opts, Ext: p.Ext,

		AORUser:     p.AORUser(),
		AuthUser:    p.AuthUser(),
		HasProxy:    p.ProxyAddr != "",
		NextHost:    cmp.Or(p.ProxyAddr, p.Domain),
		ExtAddrList: registry.SplitList(p.ExtAddrs),
		Registers:   p.Reg == 1, // trunkOutputs applies the ownership
		Pings:       p.PingMode != "" && p.PingMode != "none",
		RegExpires:  cmp.Or(p.Expires, defaultExpires),
	}
	if t.HasProxy {
		t.NextPort = cmp.Or(p.ProxyPort, defaultPort(p.Transport))
	}
	proxies, err := registry.ParseProxies(p.AlternativeProxies)
	if err != nil {
		return Trunk{}, fmt.Errorf("alternative_proxies: %w", err)
	}
	t.Proxies = proxies
	if p.PingSrv != "" {
		if t.PingHost, t.PingPort, err = registry.SplitHostPort(p.PingSrv); err != nil {
			return Trunk{}, fmt.Errorf("pingsrv: %w", err)
		}
	}
	t.MatchHosts = matchHosts(t)
	return t, nil
}

// matchHosts lists the addresses inbound requests of a trunk come from.
func matchHosts(t Trunk) []string {
	seen := map[string]bool{}
	var out []string
	add := func(h string) {
		if h != "" && !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	add(t.NextHost)
	for _, p := range t.Proxies {
		add(p.Host)
	}
	for _, h := range t.ExtAddrList {
		add(h)
	}
	return out
}

func defaultPort(transport string) int {
	if transport == "tls" {
		return 5061
	}
	return 5060
}
