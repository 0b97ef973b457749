package importer

import (
	"strconv"
	"strings"
)

// templateSetting is an option the built-in template writes itself: a
// source value that differs is a note, not a loss of provider data.
type templateSetting struct {
	want string // what the template writes
	vr   string // the render target var that sets it, "" when fixed
}

// pjsipTemplate lists, per object type, the options asterisk/pjsip.conf
// writes with a fixed value or from a target var.
var pjsipTemplate = map[string]map[string]templateSetting{
	"registration": {
		"retry_interval":           {want: "30"},
		"forbidden_retry_interval": {want: "300"},
		"fatal_retry_interval":     {want: "300"},
		"max_retries":              {want: "1000000"},
		"auth_rejection_permanent": {want: "no"},
		"line":                     {want: "yes"},
	},
	"aor": {
		"qualify_timeout": {want: "3.0"},
	},
	"endpoint": {
		"context":  {want: "from-trunk", vr: "context"},
		"allow":    {want: "ulaw,alaw", vr: "allow"},
		"disallow": {want: "all"},
	},
	"auth": {
		"auth_type": {want: "userpass"},
	},
}

// unused reports every option of the trunk's objects that the import did
// not map: a note when the template writes that option itself, a warning
// otherwise. Values of unknown options are never printed (they may be
// secrets).
func (t *pjTrunk) unused() {
	objs := []*pjObject{t.ep, t.reg, t.aor, t.auth}
	objs = append(objs, t.ep.idents...)
	for _, o := range objs {
		if o == nil {
			continue
		}
		if o == t.reg {
			t.contactUser()
		}
		for _, key := range unusedKeys(o) {
			opts := o.all[key]
			opt := opts[len(opts)-1]
			value := opt.value
			if key == "allow" || key == "disallow" {
				value = joinValues(opts)
			}
			set, known := pjsipTemplate[o.typ][key]
			switch {
			case known && sameSetting(value, set.want):
			case known && set.vr != "":
				t.note(opt.file, opt.line, "%s %s=%s is not carried by a provider: set vars: {%s: %q} on the asterisk/pjsip.conf render target (the template writes %s)", o.label(), key, value, set.vr, value, set.want)
			case known:
				t.note(opt.file, opt.line, "%s %s=%s is not carried: trunkd's template writes %s=%s", o.label(), key, value, key, set.want)
			default:
				t.warn(opt.file, opt.line, "%s option %s is not imported: no provider field or template setting holds it", o.label(), key)
			}
		}
	}
}

// contactUser checks that the registration's contact_user is the AOR
// user, which is what the template writes.
func (t *pjTrunk) contactUser() {
	v, opt := t.reg.get("contact_user")
	if v != "" && v != t.p().Username && t.p().Username != "" {
		t.note(opt.file, opt.line, "%s contact_user=%s is not carried: the template writes the AOR user %s", t.reg.label(), v, t.p().Username)
	}
}

// unusedKeys lists the keys of o the import did not use, in file order.
func unusedKeys(o *pjObject) []string {
	var keys []string
	seen := map[string]bool{}
	for _, opt := range o.sec.opts {
		if !o.used[opt.key] && !seen[opt.key] {
			seen[opt.key] = true
			keys = append(keys, opt.key)
		}
	}
	return keys
}

// joinValues joins the values of a repeated list option (allow=, disallow=).
func joinValues(opts []confOption) string {
	var vs []string
	for _, o := range opts {
		vs = append(vs, o.value)
	}
	return strings.Join(vs, ",")
}

// sameSetting compares option values loosely: case, booleans and numbers.
func sameSetting(a, b string) bool {
	a, b = strings.ToLower(strings.TrimSpace(a)), strings.ToLower(strings.TrimSpace(b))
	if a == b {
		return true
	}
	if x, ok := asteriskBool(a); ok {
		if y, ok := asteriskBool(b); ok {
			return x == y
		}
	}
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	return err1 == nil && err2 == nil && x == y
}
