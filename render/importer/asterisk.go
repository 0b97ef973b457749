package importer

import (
	"strings"
)

// pjObject is one sorcery object of pjsip.conf: a non-template section
// with its type, its options (inherited ones included) and which options
// the import used.
type pjObject struct {
	typ, name string
	sec       *confSection
	last      map[string]confOption   // the last value of each key
	all       map[string][]confOption // every value of each key, in order
	used      map[string]bool
	consumed  bool // taken by a trunk (or by a skipped phone endpoint)
	dup       bool // another object of this type and name follows

	// Set by pjImport.link: an endpoint's registrations and identifies;
	// for a registration without endpoint=, how it was linked.
	regs, idents []*pjObject
	guessedLink  string
}

func newPJObject(s *confSection) *pjObject {
	o := &pjObject{name: s.name, sec: s, last: map[string]confOption{}, all: map[string][]confOption{}, used: map[string]bool{"type": true}}
	for _, opt := range s.opts {
		o.last[opt.key] = opt
		o.all[opt.key] = append(o.all[opt.key], opt)
	}
	o.typ = strings.ToLower(o.last["type"].value)
	return o
}

// get returns the last value of key and marks the key used.
func (o *pjObject) get(key string) (string, confOption) {
	o.used[key] = true
	opt := o.last[key]
	return opt.value, opt
}

// has reports whether key is set, without marking it used.
func (o *pjObject) has(key string) bool {
	_, ok := o.last[key]
	return ok
}

// lineOf returns the line of key, or the section's line.
func (o *pjObject) lineOf(key string) int {
	if opt, ok := o.last[key]; ok {
		return opt.line
	}
	return o.sec.line
}

// label names the object in messages: "registration [acme-reg]".
func (o *pjObject) label() string { return o.typ + " [" + o.name + "]" }

// pjImport is one Asterisk import: the objects of every file, linked.
type pjImport struct {
	res   *Result
	opts  Options
	objs  map[string]*pjObject // by "type/name"; the first of duplicates
	order []*pjObject          // objects in source order
}

// Asterisk imports the trunks of one or more pjsip.conf files. Objects
// link across the files, as they would in one Asterisk.
func Asterisk(files []Source, opts Options) *Result {
	res := &Result{}
	cp := newConfParser(res)
	for _, f := range files {
		cp.parse(f)
	}
	ai := &pjImport{res: res, opts: opts, objs: map[string]*pjObject{}}
	ai.collect(cp.sections)
	ai.link()
	for _, o := range ai.order {
		if o.typ == "endpoint" && !o.dup {
			ai.endpoint(o)
		}
	}
	ai.leftovers()
	sortResult(res, files)
	return res
}

// collect turns sections into objects, reporting duplicates and objects
// that are no trunk part.
func (ai *pjImport) collect(sections []*confSection) {
	for _, s := range sections {
		if s.template {
			continue
		}
		o := newPJObject(s)
		switch o.typ {
		case "":
			ai.res.add(s.file, s.line, "", Warning, "[%s] has no type=: ignored (Asterisk ignores it too)", s.name)
			continue
		case "wizard":
			ai.res.add(s.file, s.line, s.name, Error, "type=wizard objects are not imported: write the provider by hand, or import the auth/registration/aor/endpoint/identify objects Asterisk generates from it (pjsip show endpoint %s)", s.name)
			ai.res.NotImported = append(ai.res.NotImported, s.name)
			continue
		}
		if first := ai.objs[o.typ+"/"+o.name]; first != nil {
			if o.typ == "endpoint" && !first.dup {
				ai.res.NotImported = append(ai.res.NotImported, o.name)
			}
			first.dup = true
			ai.res.add(s.file, s.line, "", Error, "%s is defined twice (first at %s:%d): Asterisk keeps only one, which one is ambiguous; neither is imported", o.label(), first.sec.file, first.sec.line)
			continue
		}
		ai.objs[o.typ+"/"+o.name] = o
		ai.order = append(ai.order, o)
	}
}

// obj returns the object of a type and name, nil when absent or duplicated.
func (ai *pjImport) obj(typ, name string) *pjObject {
	if o := ai.objs[typ+"/"+name]; o != nil && !o.dup {
		return o
	}
	return nil
}

// link attaches registrations and identifies to their endpoints the way
// Asterisk does (registration endpoint=, identify endpoint=); a
// registration without endpoint= is linked by a guess, said so.
func (ai *pjImport) link() {
	for _, o := range ai.order {
		switch o.typ {
		case "registration":
			if ep, how := ai.registrationEndpoint(o); ep != nil {
				ep.regs = append(ep.regs, o)
				o.guessedLink = how
			}
		case "identify":
			name, opt := o.get("endpoint")
			ep := ai.obj("endpoint", name)
			switch {
			case name == "":
				ai.res.add(o.sec.file, o.sec.line, "", Warning, "%s has no endpoint=: it matches nothing in Asterisk either, not imported", o.label())
				o.consumed = true
			case ep == nil:
				ai.res.add(opt.file, opt.line, "", Warning, "%s names endpoint %q, which is not defined: not imported", o.label(), name)
				o.consumed = true
			default:
				ep.idents = append(ep.idents, o)
			}
		}
	}
}

// registrationEndpoint finds the endpoint of a registration: the one
// endpoint= names, else a guess, returned with how it was guessed. A
// registration naming an undefined endpoint is an Error.
func (ai *pjImport) registrationEndpoint(r *pjObject) (*pjObject, string) {
	if name, opt := r.get("endpoint"); name != "" {
		ep := ai.obj("endpoint", name)
		if ep == nil {
			ai.res.add(opt.file, opt.line, r.name, Error, "%s names endpoint %q, which is not defined: the registration is not imported", r.label(), name)
			ai.res.NotImported = append(ai.res.NotImported, r.name)
			r.consumed = true
		}
		return ep, ""
	}
	if ep := ai.obj("endpoint", r.name); ep != nil {
		return ep, "linked to the endpoint of the same name (the registration has no endpoint=)"
	}
	if ep := ai.endpointByAuth(r); ep != nil {
		return ep, "linked by its outbound_auth, the endpoint's too (the registration has no endpoint=)"
	}
	for _, suffix := range []string{"-reg", "_reg", "-registration", "_registration"} {
		if base, ok := strings.CutSuffix(r.name, suffix); ok && ai.obj("endpoint", base) != nil {
			return ai.obj("endpoint", base), "linked by its name (the registration has no endpoint=)"
		}
	}
	return nil, ""
}

// endpointByAuth finds the one endpoint whose outbound_auth is the
// registration's.
func (ai *pjImport) endpointByAuth(r *pjObject) *pjObject {
	auth := firstItem(r.last["outbound_auth"].value)
	if auth == "" {
		return nil
	}
	var found *pjObject
	for _, ep := range ai.order {
		if ep.typ == "endpoint" && !ep.dup && firstItem(ep.last["outbound_auth"].value) == auth {
			if found != nil {
				return nil
			}
			found = ep
		}
	}
	return found
}

// leftovers reports objects no trunk used.
func (ai *pjImport) leftovers() {
	for _, o := range ai.order {
		if o.consumed {
			continue
		}
		switch o.typ {
		case "registration":
			ai.res.add(o.sec.file, o.sec.line, o.name, Error, "%s is linked to no endpoint (no endpoint=, and no endpoint shares its name or outbound_auth): not imported", o.label())
			ai.res.NotImported = append(ai.res.NotImported, o.name)
		case "auth", "aor", "identify":
			ai.res.add(o.sec.file, o.sec.line, "", Note, "%s is used by no imported endpoint: not imported", o.label())
		case "endpoint":
		case "transport":
			ai.res.add(o.sec.file, o.sec.line, "", Note, "%s: transports are engine settings, not imported (the templates expect transport-udp, transport-tcp and transport-tls)", o.label())
		default:
			ai.res.add(o.sec.file, o.sec.line, "", Note, "%s is not a trunk object: not imported", o.label())
		}
	}
}

// firstItem returns the first entry of a comma-separated list.
func firstItem(s string) string {
	first, _, _ := strings.Cut(s, ",")
	return strings.TrimSpace(first)
}

// items splits a comma-separated list, dropping empty entries.
func items(s string) []string {
	var out []string
	for _, it := range strings.Split(s, ",") {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	return out
}
