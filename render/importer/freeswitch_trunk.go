package importer

import (
	"cmp"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/trunkd/trunkd/registry"
)

// FreeSWITCH imports the sofia gateways of one or more FreeSWITCH XML
// files. Pre-processor variables come from opts.Vars and from the files'
// own <X-PRE-PROCESS cmd="set"> directives.
func FreeSWITCH(files []Source, opts Options) *Result {
	res := &Result{}
	vars := map[string]string{}
	maps.Copy(vars, opts.Vars)
	var gateways []*fsGateway
	for _, f := range files {
		parsed := parseFreeSWITCH(f, res)
		maps.Copy(vars, parsed.vars)
		gateways = append(gateways, parsed.gateways...)
	}
	dup := duplicateGateways(gateways, res)
	for _, gw := range gateways {
		if gw.name != "" && !dup[gw.name] {
			t := &fsTrunk{draft: newDraft(res, "freeswitch", gw.name, gw.file, gw.line, opts.ServerIndex), gw: gw, vars: vars, used: map[string]bool{}}
			t.origin("gateway", strconv.Quote(gw.name), gw.file, gw.line)
			t.build()
			t.finish()
		}
	}
	sortResult(res, files)
	return res
}

// duplicateGateways reports gateways without a name or with the name of
// an earlier one, and returns the names defined twice: neither of those
// gateways is imported.
func duplicateGateways(gateways []*fsGateway, res *Result) map[string]bool {
	first := map[string]*fsGateway{}
	dup := map[string]bool{}
	for _, gw := range gateways {
		if gw.name == "" {
			res.add(gw.file, gw.line, "", Error, "gateway without a name: not imported")
			res.NotImported = append(res.NotImported, "(unnamed gateway)")
			continue
		}
		if f, ok := first[gw.name]; ok {
			if !dup[gw.name] {
				res.NotImported = append(res.NotImported, gw.name)
			}
			dup[gw.name] = true
			res.add(gw.file, gw.line, gw.name, Error, "gateway %q is defined twice (first at %s:%d): FreeSWITCH ignores the second, which one you meant is ambiguous; neither is imported", gw.name, f.file, f.line)
			continue
		}
		first[gw.name] = gw
	}
	return dup
}

// fsTrunk maps one gateway.
type fsTrunk struct {
	*draft
	gw   *fsGateway
	vars map[string]string
	used map[string]bool
	reg  bool
}

// build maps every field; errors mark the draft failed but mapping goes
// on, so that every problem of the trunk is reported at once.
func (t *fsTrunk) build() {
	t.register()
	t.credentials()
	t.addresses()
	t.transport()
	t.expires()
	t.ping()
	t.unused()
}

// param returns the last value of a param (FreeSWITCH takes the last),
// with pre-processor references resolved; a reference nobody sets or a
// runtime ${variable} fails the trunk. ok is false when absent.
func (t *fsTrunk) param(name string) (string, fsParam, bool) {
	t.used[name] = true
	found, ok := t.gw.last(name)
	if !ok {
		return "", fsParam{}, false
	}
	v, missing := expand(found.value, t.vars)
	for _, m := range missing {
		t.fail(t.gw.file, found.line, "%s refers to $${%s}, which no X-PRE-PROCESS set in the given files defines: give the file that sets it (vars.xml) with --vars; the value is not guessed", name, m)
	}
	if i := strings.Index(v, "${"); i >= 0 && len(missing) == 0 {
		ref, _, _ := strings.Cut(v[i:], "}")
		t.fail(t.gw.file, found.line, "%s holds the runtime variable %s}, whose value is not in the configuration: write the value into the provider by hand", name, ref)
	}
	return v, found, true
}

// register: FreeSWITCH registers unless register is false.
func (t *fsTrunk) register() {
	t.reg = true
	if v, _, ok := t.param("register"); ok {
		t.reg = fsTrue(v)
	}
	if !t.reg {
		t.p().Reg = 0
	}
}

// credentials: username is the digest user and, without from-user, the
// AOR user; auth-username overrides the digest user.
func (t *fsTrunk) credentials() {
	p := t.p()
	user, _, _ := t.param("username")
	authUser, _, _ := t.param("auth-username")
	fromUser, _, _ := t.param("from-user")
	pwd, pwdParam, hasPwd := t.param("password")
	if t.reg && user == "" {
		t.fail(t.gw.file, t.gw.line, "a registering gateway needs username (FreeSWITCH refuses it without one)")
	}
	if t.reg && hasPwd && pwdParam.value == "" {
		t.warn(t.gw.file, t.gw.line, "password is empty")
	} else if t.reg && !hasPwd {
		t.fail(t.gw.file, t.gw.line, "a registering gateway needs password (FreeSWITCH refuses it without one)")
	}
	p.Username = cmp.Or(fromUser, user)
	p.Login = cmp.Or(authUser, user)
	p.Pwd = pwd
}

// addresses: domain from from-domain, else proxy, else realm (FreeSWITCH's
// own order); the next hop from register-proxy or outbound-proxy, else a
// proxy that is not the domain.
func (t *fsTrunk) addresses() {
	p := t.p()
	fromDomain, fdParam, hasFD := t.addr("from-domain")
	proxy, _, hasProxy := t.addr("proxy")
	realmText, realmParam, hasRealm := t.param("realm")
	switch {
	case hasFD:
		p.Domain = fromDomain.Host
		if fromDomain.Port != 0 {
			t.warn(t.gw.file, fdParam.line, "from-domain has a port: only the host is imported")
		}
	case hasProxy:
		p.Domain = proxy.Host
	case hasRealm && registry.IsHost(realmText):
		p.Domain = realmText
	case registry.IsHost(t.gw.name) && strings.Contains(t.gw.name, "."):
		p.Domain = t.gw.name
		t.comment("domain", "no from-domain, proxy or realm: FreeSWITCH uses the gateway name")
	default:
		t.fail(t.gw.file, t.gw.line, "no domain: the gateway has no usable from-domain, proxy or realm")
		return
	}
	if hasRealm && !strings.EqualFold(realmText, p.Domain) {
		t.warn(t.gw.file, realmParam.line, "realm %q differs from the domain %q: the freeswitch template writes realm=<domain> (FreeSWITCH matches incoming challenges to gateways by realm); trunkd's prober answers any realm", realmText, p.Domain)
	}
	t.nextHop(proxy)
}

// nextHop sets the provider's proxy from register-proxy, outbound-proxy
// or proxy (zero when the gateway has none).
func (t *fsTrunk) nextHop(proxy sipAddr) {
	p := t.p()
	regProxy, _, hasRP := t.addr("register-proxy")
	outProxy, opParam, hasOP := t.addr("outbound-proxy")
	switch {
	case hasRP:
		p.ProxyAddr, p.ProxyPort = regProxy.Host, regProxy.Port
		if hasOP && (outProxy.Host != regProxy.Host || outProxy.Port != regProxy.Port) {
			t.warn(t.gw.file, opParam.line, "outbound-proxy differs from register-proxy: a provider has one next hop, register-proxy (REGISTER and OPTIONS) is imported")
		}
	case hasOP:
		p.ProxyAddr, p.ProxyPort = outProxy.Host, outProxy.Port
		t.comment("proxyaddr", "from outbound-proxy (no register-proxy): trunkd registers and pings through it too")
	case proxy.Host != "" && proxy.isOtherHop(p.Domain):
		p.ProxyAddr, p.ProxyPort = proxy.Host, proxy.Port
	}
}

// addr parses a host, host:port or SIP URI param.
func (t *fsTrunk) addr(name string) (sipAddr, fsParam, bool) {
	v, prm, ok := t.param(name)
	if !ok || v == "" {
		return sipAddr{}, prm, false
	}
	a, err := parseSIPAddr(v)
	if err != nil {
		t.fail(t.gw.file, prm.line, "%s %q: %v", name, redactURI(v), err)
		return sipAddr{}, prm, false
	}
	return a, prm, true
}

// transport: register-transport, else a ;transport= parameter (or sips:)
// of the proxies, else FreeSWITCH's default udp.
func (t *fsTrunk) transport() {
	p := t.p()
	v, prm, ok := t.param("register-transport")
	from := "register-transport"
	if !ok || v == "" {
		v, from = "", ""
		for _, name := range []string{"register-proxy", "outbound-proxy", "proxy"} {
			if raw := t.rawParam(name); raw != "" {
				if a, err := parseSIPAddr(raw); err == nil && a.transport() != "" {
					v, from = a.transport(), name
					break
				}
			}
		}
	}
	if v == "" {
		p.Transport = "udp"
		t.comment("transport", "not in the source: udp, FreeSWITCH's default")
		return
	}
	tr, known := knownTransport(v)
	if !known {
		t.fail(t.gw.file, cmp.Or(prm.line, t.gw.line), "transport %q (from %s) is not one trunkd knows (udp, tcp, tls)", v, from)
		return
	}
	p.Transport = tr
}

// rawParam returns the last value of a param, resolved, without marking
// it used.
func (t *fsTrunk) rawParam(name string) string {
	prm, _ := t.gw.last(name)
	v, _ := expand(prm.value, t.vars)
	return v
}

// expires: expire-seconds, FreeSWITCH's default 3600, below 5 also 3600.
func (t *fsTrunk) expires() {
	v, prm, ok := t.param("expire-seconds")
	if !t.reg {
		return
	}
	p := t.p()
	n, err := strconv.Atoi(strings.TrimSpace(v))
	switch {
	case !ok:
		p.Expires = 3600
		t.comment("expires", "not in the source: FreeSWITCH's default expire-seconds, 3600")
		return
	case err != nil || n < 5:
		p.Expires = 3600
		t.comment("expires", fmt.Sprintf("expire-seconds=%s is invalid: FreeSWITCH uses 3600", v))
		t.warn(t.gw.file, prm.line, "expire-seconds=%s is invalid (FreeSWITCH uses 3600): imported as 3600", v)
		return
	}
	t.setExpires("expire-seconds", n, t.gw.file, prm.line)
}

// ping: FreeSWITCH sends OPTIONS every ping seconds (at least 5).
func (t *fsTrunk) ping() {
	v, prm, ok := t.param("ping")
	if !ok || strings.TrimSpace(v) == "" || strings.TrimSpace(v) == "0" {
		return
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 5 {
		t.warn(t.gw.file, prm.line, "ping=%s is not a number of seconds of at least 5, which FreeSWITCH ignores: no ping imported", v)
		return
	}
	t.setPing("ping", n)
}

// fsTrue is FreeSWITCH's switch_true: yes, on, true, t, enabled, active,
// allow, or a non-zero number.
func fsTrue(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "on", "true", "t", "enabled", "active", "allow":
		return true
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	return err == nil && n != 0
}
