package importer

import (
	"fmt"
	"strconv"
	"strings"
)

// pjTrunk gathers the objects of one endpoint while it is mapped.
type pjTrunk struct {
	*draft
	ai       *pjImport
	ep       *pjObject
	reg      *pjObject // nil: no registration
	aor      *pjObject // nil: no aor
	auth     *pjObject // nil: no outbound auth
	client   sipAddr   // registration client_uri
	server   sipAddr   // registration server_uri
	contact  sipAddr   // aor contact
	proxy    sipAddr   // chosen outbound_proxy
	proxySrc *pjObject // the object it was taken from
}

// endpoint maps one endpoint (and the objects linked to it) to a trunk,
// or skips it when nothing marks it as a trunk.
func (ai *pjImport) endpoint(ep *pjObject) {
	ep.consumed = true
	aor := ai.aorOf(ep)
	if len(ep.regs) == 0 && len(ep.idents) == 0 && ep.last["outbound_auth"].value == "" && (aor == nil || aor.last["contact"].value == "") {
		ai.skip(ep)
		return
	}
	t := &pjTrunk{draft: newDraft(ai.res, "asterisk", ep.name, ep.sec.file, ep.sec.line, ai.opts.ServerIndex), ai: ai, ep: ep, aor: aor}
	t.adopt(ep)
	if len(ep.regs) > 0 {
		t.reg = ep.regs[0]
		t.adopt(t.reg)
		for _, extra := range ep.regs[1:] {
			extra.consumed = true
			ai.res.add(extra.sec.file, extra.sec.line, ep.name, Error, "%s is a second registration of endpoint [%s]: a provider has one registration, so it is not imported (write it as its own provider)", extra.label(), ep.name)
		}
	}
	if aor != nil {
		t.adopt(aor)
	}
	for _, id := range ep.idents {
		t.adopt(id)
	}
	t.build()
	t.finish()
}

// skip notes an endpoint that is no trunk; its aors and auths are used
// by it, so they are not reported as left over.
func (ai *pjImport) skip(ep *pjObject) {
	ai.res.add(ep.sec.file, ep.sec.line, "", Note, "%s is not a trunk (no registration, outbound_auth, identify or static aor contact; a phone or a dynamic peer): skipped", ep.label())
	for typ, key := range map[string]string{"aor": "aors", "auth": "auth"} {
		for _, name := range items(ep.last[key].value) {
			if o := ai.obj(typ, name); o != nil {
				o.consumed = true
			}
		}
	}
}

// adopt takes o into the trunk: it is used, and named in the file's header.
func (t *pjTrunk) adopt(o *pjObject) {
	o.consumed = true
	t.origin(o.typ, "["+o.name+"]", o.sec.file, o.sec.line)
}

// aorOf returns the endpoint's first aor with a static contact, else its
// first aor; missing aors are reported.
func (ai *pjImport) aorOf(ep *pjObject) *pjObject {
	val, opt := ep.get("aors")
	var first, withContact *pjObject
	for _, name := range items(val) {
		o := ai.obj("aor", name)
		if o == nil {
			ai.res.add(opt.file, opt.line, ep.name, Warning, "aors names %q, which is not defined (or defined twice): ignored", name)
			continue
		}
		if first == nil {
			first = o
		}
		if withContact == nil && o.last["contact"].value != "" {
			withContact = o
		} else if o.last["contact"].value != "" {
			ai.res.add(opt.file, opt.line, ep.name, Warning, "aor [%s] is not imported: a provider has one target, taken from aor [%s]", name, withContact.name)
			o.consumed = true
		}
	}
	if withContact != nil {
		return withContact
	}
	return first
}

// build maps every field; errors mark the draft failed but mapping goes
// on, so that every problem of the trunk is reported at once.
func (t *pjTrunk) build() {
	t.credentials()
	t.addresses()
	t.transport()
	t.registration()
	t.qualify()
	t.media()
	t.matches()
	t.unused()
}

// credentials takes login and pwd from the outbound auth.
func (t *pjTrunk) credentials() {
	epAuth, epOpt := t.ep.get("outbound_auth")
	name, opt := epAuth, epOpt
	if t.reg != nil {
		if regAuth, regOpt := t.reg.get("outbound_auth"); regAuth != "" {
			if epAuth != "" && firstItem(epAuth) != firstItem(regAuth) {
				t.warn(epOpt.file, epOpt.line, "endpoint outbound_auth %q differs from the registration's %q: a provider has one credential, the registration's is imported", firstItem(epAuth), firstItem(regAuth))
			}
			name, opt = regAuth, regOpt
		}
	}
	if name == "" {
		return
	}
	if len(items(name)) > 1 {
		t.warn(opt.file, opt.line, "outbound_auth lists %d auths: only the first, %q, is imported", len(items(name)), firstItem(name))
	}
	auth := t.ai.obj("auth", firstItem(name))
	if auth == nil {
		t.fail(opt.file, opt.line, "outbound_auth names %q, but there is no type=auth section of that name (or it is defined twice): the credentials are missing", firstItem(name))
		return
	}
	t.auth = auth
	t.adopt(auth)
	t.authValues(auth)
}

func (t *pjTrunk) authValues(auth *pjObject) {
	authType, typeOpt := auth.get("auth_type")
	pwd, _ := auth.get("password")
	auth.get("md5_cred")
	auth.get("password_digest")
	switch strings.ToLower(authType) {
	case "", "userpass", "digest":
		if !auth.has("password") && (auth.has("md5_cred") || auth.has("password_digest")) {
			t.fail(auth.sec.file, auth.lineOf("md5_cred"), "%s holds only a hashed credential (md5_cred or password_digest), which cannot be turned back into a password: import it after writing password= (or add pwd to the provider file by hand)", auth.label())
		}
	case "md5":
		t.fail(typeOpt.file, typeOpt.line, "%s has auth_type=md5: the md5_cred hash cannot be turned back into a password: set auth_type=userpass and password= in a copy of the file and import that, or write pwd by hand", auth.label())
	default:
		t.fail(typeOpt.file, typeOpt.line, "%s has auth_type=%s: only userpass (and digest with password=) can be imported", auth.label(), authType)
	}
	if !auth.has("password") && !auth.has("md5_cred") && !auth.has("password_digest") {
		t.warn(auth.sec.file, auth.sec.line, "%s has no password: pwd is empty", auth.label())
	}
	user, _ := auth.get("username")
	if user == "" {
		t.warn(auth.sec.file, auth.sec.line, "%s has no username: login is empty (trunkd then authenticates as username)", auth.label())
	}
	p := t.p()
	p.Login, p.Pwd = user, pwd
	if realm, opt := auth.get("realm"); realm != "" {
		t.note(opt.file, opt.line, "realm=%s is not carried: trunkd and the templates answer whatever realm the provider challenges with", realm)
	}
}

// addresses takes username and domain from the URIs and the next hop
// from outbound_proxy (or a server_uri / contact that differs from the
// domain).
func (t *pjTrunk) addresses() {
	t.parseURIs()
	p := t.p()
	fromUser, fuOpt := t.ep.get("from_user")
	fromDomain, fdOpt := t.ep.get("from_domain")
	switch {
	case t.client.User != "":
		p.Username = t.client.User
		if fromUser != "" && fromUser != t.client.User {
			t.warn(fuOpt.file, fuOpt.line, "from_user %q differs from the client_uri user %q: a provider has one user, the client_uri's is imported", fromUser, t.client.User)
		}
	case fromUser != "":
		p.Username = fromUser
	case t.reg != nil && t.reg.last["contact_user"].value != "":
		p.Username = t.reg.last["contact_user"].value
		t.comment("username", "guessed from the registration's contact_user (no client_uri user, no from_user)")
	}
	switch {
	case t.client.Host != "":
		p.Domain = t.client.Host
		if fromDomain != "" && !strings.EqualFold(fromDomain, t.client.Host) {
			t.warn(fdOpt.file, fdOpt.line, "from_domain %q differs from the client_uri host %q: a provider has one domain, the client_uri's is imported", fromDomain, t.client.Host)
		}
	case fromDomain != "":
		p.Domain = fromDomain
	case t.server.Host != "":
		p.Domain = t.server.Host
		t.comment("domain", "guessed from the registration's server_uri (no client_uri host, no from_domain)")
	case t.contact.Host != "":
		p.Domain = t.contact.Host
		t.comment("domain", "guessed from the aor contact (no registration, no from_domain)")
	default:
		t.fail(t.ep.sec.file, t.ep.sec.line, "no domain: the trunk has no registration client_uri, no from_domain and no aor contact")
	}
	t.nextHop()
}

// parseURIs parses the registration's URIs, the aor contact and the
// outbound proxy.
func (t *pjTrunk) parseURIs() {
	t.client = t.uri(t.reg, "client_uri")
	t.server = t.uri(t.reg, "server_uri")
	t.contact = t.uri(t.aor, "contact")
	if t.reg != nil && t.reg.last["client_uri"].value == "" {
		t.warn(t.reg.sec.file, t.reg.sec.line, "%s has no client_uri (Asterisk refuses such a registration)", t.reg.label())
	}
	t.outboundProxy()
}

// uri parses the first URI of o's key; it is zero when o or the key is
// absent or the URI is unusable (an Error).
func (t *pjTrunk) uri(o *pjObject, key string) sipAddr {
	if o == nil {
		return sipAddr{}
	}
	v, opt := o.get(key)
	if v == "" {
		return sipAddr{}
	}
	if len(items(v)) > 1 {
		t.warn(opt.file, opt.line, "%s %s lists %d URIs: only the first is imported (a provider has one)", o.label(), key, len(items(v)))
	}
	a, err := parseSIPAddr(firstItem(v))
	if err != nil {
		t.fail(opt.file, opt.line, "%s %s: cannot use %q: %v", o.label(), key, redactURI(firstItem(v)), err)
		return sipAddr{}
	}
	return a
}

// outboundProxy takes the registration's outbound_proxy, else the aor's,
// else the endpoint's; another one that differs is a Warning.
func (t *pjTrunk) outboundProxy() {
	for _, o := range []*pjObject{t.reg, t.aor, t.ep} {
		if o == nil || o.last["outbound_proxy"].value == "" {
			continue
		}
		if t.proxySrc == nil {
			t.proxySrc = o
			t.proxy = t.uri(o, "outbound_proxy")
			continue
		}
		v, opt := o.get("outbound_proxy")
		if a, err := parseSIPAddr(firstItem(v)); err != nil || a.Host != t.proxy.Host || a.Port != t.proxy.Port {
			t.warn(opt.file, opt.line, "%s outbound_proxy %q differs from the %s's: a provider has one next hop, the %s's is imported", o.label(), redactURI(v), t.proxySrc.typ, t.proxySrc.typ)
		}
	}
}

// nextHop sets proxyaddr/proxyport from the outbound proxy, or from a
// registrar or contact that is not the domain itself.
func (t *pjTrunk) nextHop() {
	p := t.p()
	if t.proxy.Host != "" {
		p.ProxyAddr, p.ProxyPort = t.proxy.Host, t.proxy.Port
		return
	}
	target, what := t.server, "the registration's server_uri"
	if t.reg == nil {
		target, what = t.contact, "the aor contact"
	}
	if target.Host == "" || p.Domain == "" {
		return
	}
	if target.isOtherHop(p.Domain) {
		p.ProxyAddr, p.ProxyPort = target.Host, target.Port
		t.comment("proxyaddr", fmt.Sprintf("no outbound_proxy: requests go to %s, which is not the domain", what))
	}
}

// registration sets reg and expires.
func (t *pjTrunk) registration() {
	p := t.p()
	if t.reg == nil {
		p.Reg = 0
		return
	}
	p.Reg = 1
	if how := t.reg.guessedLink; how != "" {
		t.comment("reg", "registration ["+t.reg.name+"] "+how)
		t.warn(t.reg.sec.file, t.reg.sec.line, "%s %s", t.reg.label(), how)
	}
	v, opt := t.reg.get("expiration")
	if v == "" {
		p.Expires = 3600
		t.comment("expires", "not in the source: Asterisk's default expiration, 3600")
		return
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.fail(opt.file, opt.line, "expiration=%s is not a positive number of seconds", v)
		return
	}
	t.setExpires("expiration", n, opt.file, opt.line)
}

// qualify maps the aor's qualify_frequency to an OPTIONS ping.
func (t *pjTrunk) qualify() {
	if t.aor == nil {
		return
	}
	v, opt := t.aor.get("qualify_frequency")
	if v == "" || v == "0" {
		return
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.warn(opt.file, opt.line, "qualify_frequency=%s is not a number of seconds: no ping imported", v)
		return
	}
	t.setPing("qualify_frequency", n)
}

// media maps direct_media: "no" keeps media through this server.
func (t *pjTrunk) media() {
	v, opt := t.ep.get("direct_media")
	if v == "" {
		return
	}
	b, ok := asteriskBool(v)
	if !ok {
		t.warn(opt.file, opt.line, "direct_media=%s is not a boolean: media and reinvite keep their defaults", v)
		return
	}
	if !b {
		p := t.p()
		p.Media, p.Reinvite = 1, 0
		t.comment("media", "from direct_media=no: media stays on this server")
		t.comment("reinvite", "from direct_media=no: no re-INVITE to the endpoints")
	}
}
