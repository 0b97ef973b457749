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

// pjImport is one Asterisk import: the objects of every file by type and
// name, and the links between them.
type pjImport struct {
	res       *Result
	opts      Options
	objs      map[string]map[string]*pjObject // type → name → object
	order     []*pjObject                     // objects in source order
	dup       map[string]bool                 // "type/name" defined twice
	regsFor   map[string][]*pjObject          // endpoint → its registrations
	regLink   map[*pjObject]string            // how a registration was linked, when guessed
	identsFor map[string][]*pjObject          // endpoint → its identifies
}

// Asterisk imports the trunks of one or more pjsip.conf files. Objects
// link across the files, as they would in one Asterisk.
func Asterisk(files []Source, opts Options) *Result {
	res := &Result{}
	cp := newConfParser(res)
	for _, f := range files {
		cp.parse(f)
	}
	ai := &pjImport{res: res, opts: opts, objs: map[string]map[string]*pjObject{}, dup: map[string]bool{},
		regsFor: map[string][]*pjObject{}, regLink: map[*pjObject]string{}, identsFor: map[string][]*pjObject{}}
	ai.collect(cp.sections)
	ai.link()
	for _, o := range ai.order {
		if o.typ == "endpoint" && !ai.dup["endpoint/"+o.name] {
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
		key := o.typ + "/" + o.name
		if ai.objs[o.typ] == nil {
			ai.objs[o.typ] = map[string]*pjObject{}
		}
		if first, ok := ai.objs[o.typ][o.name]; ok {
			if o.typ == "endpoint" && !ai.dup[key] {
				ai.res.NotImported = append(ai.res.NotImported, o.name)
			}
			ai.dup[key] = true
			ai.res.add(s.file, s.line, "", Error, "%s is defined twice (first at %s:%d): Asterisk keeps only one, which one is ambiguous; neither is imported", o.label(), first.sec.file, first.sec.line)
			continue
		}
		ai.objs[o.typ][o.name] = o
		ai.order = append(ai.order, o)
	}
}

// obj returns the object of a type and name, nil when absent or duplicated.
func (ai *pjImport) obj(typ, name string) *pjObject {
	if ai.dup[typ+"/"+name] {
		return nil
	}
	return ai.objs[typ][name]
}

// link attaches registrations and identifies to their endpoints the way
// Asterisk does (registration endpoint=, identify endpoint=); a
// registration without endpoint= is linked by a guess, said so.
func (ai *pjImport) link() {
	for _, o := range ai.order {
		switch o.typ {
		case "registration":
			ai.linkRegistration(o)
		case "identify":
			ep, opt := o.get("endpoint")
			if ep == "" {
				ai.res.add(o.sec.file, o.sec.line, "", Warning, "%s has no endpoint=: it matches nothing in Asterisk either, not imported", o.label())
				o.consumed = true
			} else if ai.obj("endpoint", ep) == nil {
				ai.res.add(opt.file, opt.line, "", Warning, "%s names endpoint %q, which is not defined: not imported", o.label(), ep)
				o.consumed = true
			} else {
				ai.identsFor[ep] = append(ai.identsFor[ep], o)
			}
		}
	}
}

func (ai *pjImport) linkRegistration(r *pjObject) {
	if ep, opt := r.get("endpoint"); ep != "" {
		if ai.obj("endpoint", ep) == nil {
			ai.res.add(opt.file, opt.line, r.name, Error, "%s names endpoint %q, which is not defined: the registration is not imported", r.label(), ep)
			ai.res.NotImported = append(ai.res.NotImported, r.name)
			r.consumed = true
			return
		}
		ai.regsFor[ep] = append(ai.regsFor[ep], r)
		return
	}
	if ai.obj("endpoint", r.name) != nil {
		ai.regsFor[r.name] = append(ai.regsFor[r.name], r)
		ai.regLink[r] = "linked to the endpoint of the same name (the registration has no endpoint=)"
		return
	}
	if ep := ai.endpointByAuth(r); ep != "" {
		ai.regsFor[ep] = append(ai.regsFor[ep], r)
		ai.regLink[r] = "linked by its outbound_auth, the endpoint's too (the registration has no endpoint=)"
		return
	}
	for _, suffix := range []string{"-reg", "_reg", "-registration", "_registration"} {
		if base, ok := strings.CutSuffix(r.name, suffix); ok && ai.obj("endpoint", base) != nil {
			ai.regsFor[base] = append(ai.regsFor[base], r)
			ai.regLink[r] = "linked by its name (the registration has no endpoint=)"
			return
		}
	}
}

// endpointByAuth finds the one endpoint whose outbound_auth is the
// registration's.
func (ai *pjImport) endpointByAuth(r *pjObject) string {
	auth := firstItem(r.last["outbound_auth"].value)
	if auth == "" {
		return ""
	}
	found := ""
	for name, ep := range ai.objs["endpoint"] {
		if firstItem(ep.last["outbound_auth"].value) == auth && !ai.dup["endpoint/"+name] {
			if found != "" {
				return ""
			}
			found = name
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
