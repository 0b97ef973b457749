package importer

import (
	"cmp"
	"strconv"

	"github.com/trunkd/trunkd/registry"
)

// fsTemplate lists the params freeswitch/gateways.xml writes itself for
// p, with the value or the render target var that sets it.
func fsTemplate(p *registry.Provider) map[string]templateSetting {
	written := map[string]templateSetting{
		"extension":     {want: cmp.Or(p.Username, p.Login)},
		"retry-seconds": {want: "30"},
		"context":       {want: "public", vr: "context"},
	}
	if p.PingMode == "options" {
		written["ping-min"] = templateSetting{want: "2"}
		written["ping-max"] = templateSetting{want: "4"}
	}
	return written
}

// unused reports every param, variable and element of the gateway the
// import did not map: a note when the freeswitch/gateways.xml template
// writes it itself (with another value), a warning otherwise. Values of
// unknown params are never printed (they may be secrets).
func (t *fsTrunk) unused() {
	written := fsTemplate(t.p())
	for i := len(t.gw.params) - 1; i >= 0; i-- { // the last value of each param counts
		prm := t.gw.params[i]
		if t.used[prm.name] {
			continue
		}
		t.used[prm.name] = true // reported now
		set, known := written[prm.name]
		value, _ := expand(prm.value, t.vars)
		switch {
		case known && sameSetting(value, set.want):
		case known && set.vr != "":
			t.note(t.gw.file, prm.line, "%s=%s is not carried by a provider: set vars: {%s: %s} on the freeswitch/gateways.xml render target (the template writes %s)", prm.name, value, set.vr, strconv.Quote(value), set.want)
		case known:
			t.note(t.gw.file, prm.line, "%s=%s is not carried: trunkd's template writes %s", prm.name, value, set.want)
		default:
			t.warn(t.gw.file, prm.line, "param %s is not imported: no provider field or template setting holds it", prm.name)
		}
	}
	for _, v := range t.gw.vars {
		t.warn(t.gw.file, v.line, "channel variable %s is not imported: providers carry no channel variables", v.name)
	}
	for _, o := range t.gw.others {
		t.warn(t.gw.file, o.line, "element <%s> in the gateway is not imported", o.name)
	}
}
