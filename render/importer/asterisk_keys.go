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
// not map, once per key (its last value).
func (t *pjTrunk) unused() {
	if t.reg != nil {
		t.contactUser()
	}
	for _, o := range append([]*pjObject{t.ep, t.reg, t.aor, t.auth}, t.ep.idents...) {
		if o == nil {
			continue
		}
		reported := map[string]bool{} // o may be shared: its used keys are not this trunk's to mark
		for _, opt := range o.sec.opts {
			if !o.used[opt.key] && !reported[opt.key] {
				reported[opt.key] = true
				t.unusedOption(o, opt.key)
			}
		}
	}
}

// unusedOption reports one option: nothing when the template writes the
// same value, a note when it writes another, a warning otherwise. Values
// of unknown options are never printed (they may be secrets).
func (t *pjTrunk) unusedOption(o *pjObject, key string) {
	opts := o.all[key]
	opt := opts[len(opts)-1]
	value := opt.value
	if key == "allow" || key == "disallow" { // list options: every line counts
		var values []string
		for _, each := range opts {
			values = append(values, each.value)
		}
		value = strings.Join(values, ",")
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

// contactUser checks that the registration's contact_user is the AOR
// user, which is what the template writes.
func (t *pjTrunk) contactUser() {
	v, opt := t.reg.get("contact_user")
	if v != "" && v != t.p().Username && t.p().Username != "" {
		t.note(opt.file, opt.line, "%s contact_user=%s is not carried: the template writes the AOR user %s", t.reg.label(), v, t.p().Username)
	}
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
