package api

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/trunkd/trunkd/render"
	"github.com/trunkd/trunkd/sipcheck"
)

// The page reads the prober's and the renderer's state through their JSON
// form. This test (the only place the api package sees those packages)
// checks that every field the page reads exists in the real types' JSON
// under the same name, and that real values decode: a renamed field fails
// here instead of leaving the page silently blank.
func TestStatusPageStateShapes(t *testing.T) {
	now := time.Now()
	code, secs := 200, 0.02
	state := sipcheck.State{ID: "x", Code: "x", Target: "udp:h:5060", Targets: []string{"udp:h:5060"},
		Registration: sipcheck.RegistrationState{State: "registered", LastCode: &code, LastCheck: &now, RTTSeconds: &secs,
			Bindings: []sipcheck.Binding{{Contact: "<sip:a@b>", Expires: 60}}, BindingsSeen: &now, ExpiresAt: &now},
		Ping: sipcheck.PingState{State: "up", LastCode: &code, LastCheck: &now, RTTSeconds: &secs}}
	probe := sipcheck.Status{Listen: "127.0.0.1:5070", Pending: 1, TrunkRegex: "^demo-"}
	targets := render.Status{Targets: []render.TargetStatus{{Name: "k", LastSuccess: &now, LastChange: &now,
		NextRetry: &now, LastError: &render.TargetError{Time: now, Stage: "check", Message: "m", Output: "o"},
		HeldBack: &render.HeldDrop{Since: now, RemovedList: []string{"a"}, Ratio: 0.6, MaxRatio: 0.5}}}}
	for _, c := range []struct {
		name        string
		real, local any
	}{
		{"sipcheck.State", state, &liveState{}},
		{"sipcheck.Status", probe, &probeStatus{}},
		{"render.Status", targets, &renderStatus{}},
	} {
		have := jsonPaths(t, c.real)
		for _, p := range structPaths(reflect.TypeOf(c.local).Elem(), "") {
			if !have[p] {
				t.Errorf("%s has no JSON field %s, which the status page reads (it has %v)", c.name, p, keys(have))
			}
		}
		if !viaJSON(c.real, c.local) {
			t.Errorf("%s does not decode into %T", c.name, c.local)
		}
	}
}

// jsonPaths lists the dotted paths of v's JSON form ("a.b", "list[].c").
func jsonPaths(t *testing.T, v any) map[string]bool {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var x any
	if err := json.Unmarshal(data, &x); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	var walk func(prefix string, x any)
	walk = func(prefix string, x any) {
		switch y := x.(type) {
		case map[string]any:
			for k, val := range y {
				out[prefix+k] = true
				walk(prefix+k+".", val)
			}
		case []any:
			for _, val := range y {
				walk(strings.TrimSuffix(prefix, ".")+"[].", val)
			}
		}
	}
	walk("", x)
	return out
}

// structPaths lists the JSON paths a struct type declares.
func structPaths(typ reflect.Type, prefix string) []string {
	var out []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		out = append(out, prefix+name)
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			out = append(out, structPaths(ft.Elem(), prefix+name+"[].")...)
		case ft.Kind() == reflect.Struct && ft != reflect.TypeOf(time.Time{}):
			out = append(out, structPaths(ft, prefix+name+".")...)
		}
	}
	return out
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
