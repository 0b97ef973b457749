package render

import (
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/trunkd/trunkd/templates"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenCase renders one built-in template over testdata/providers.
type goldenCase struct {
	file        string // under testdata/golden
	template    string
	serverIndex int
	vars        map[string]string
}

func goldenCases() []goldenCase {
	var cases []goldenCase
	for _, name := range templates.Names() {
		cases = append(cases, goldenCase{file: strings.ReplaceAll(name, "/", "_") + ".golden", template: name, serverIndex: 11})
	}
	return append(cases,
		goldenCase{file: "kamailio_uacreg_ha1.golden", template: "kamailio/uacreg", serverIndex: 11, vars: map[string]string{"auth": "ha1"}},
		goldenCase{file: "kamailio_uacreg_server12.golden", template: "kamailio/uacreg", serverIndex: 12},
		goldenCase{file: "kamailio_dispatcher.list_vars.golden", template: "kamailio/dispatcher.list", serverIndex: 11, vars: map[string]string{"setid": "7", "skip_dns": "0"}},
		goldenCase{file: "asterisk_pjsip.conf_vars.golden", template: "asterisk/pjsip.conf", serverIndex: 11, vars: map[string]string{"context": "carriers", "allow": "g722,alaw"}},
	)
}

// TestGolden renders every built-in template over providers covering
// registration on and off, proxy set and empty, each transport,
// alternative proxies, extaddrs, every pingmode, a disabled trunk and
// another serveridx, through the whole apply path, and compares the
// files with testdata/golden (go test -run TestGolden -update rewrites them).
func TestGolden(t *testing.T) {
	reg := openRegistry(t, "testdata/providers")
	if n := reg.Snapshot().Len(); n != 7 || len(reg.Snapshot().Invalid()) != 0 {
		t.Fatalf("testdata/providers: %d providers, invalid %v", n, reg.Snapshot().Invalid())
	}
	out := t.TempDir()
	for _, c := range goldenCases() {
		t.Run(c.file, func(t *testing.T) {
			output := filepath.Join(out, c.file)
			r, _, _ := testRenderer(t, Config{Targets: []TargetConfig{{Name: "t", Template: c.template, Output: output, Vars: c.vars}}}, c.serverIndex)
			if err := r.RenderOnce(t.Context(), reg.Snapshot()); err != nil {
				t.Fatal(err)
			}
			got := readFile(t, output)
			golden := filepath.Join("testdata", "golden", c.file)
			if *update {
				writeFile(t, golden, got)
				return
			}
			want := readFile(t, golden)
			if got != want {
				t.Errorf("%s differs from %s (run go test ./render -run TestGolden -update and review the diff):\n%s", c.template, golden, got)
			}
			fi, err := os.Stat(output)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600 (the file holds passwords)", fi.Mode().Perm())
			}
		})
	}
}

// TestGoldenCoverage guards the golden fixtures: each case the issue lists
// must be in testdata/providers, so a fixture edit cannot silently drop one.
func TestGoldenCoverage(t *testing.T) {
	snap := openRegistry(t, "testdata/providers").Snapshot()
	seen := map[string]bool{}
	for _, p := range snap.Providers() {
		seen["reg="+string(rune('0'+p.Reg))] = true
		seen["proxy="+map[bool]string{true: "set", false: "empty"}[p.ProxyAddr != ""]] = true
		seen["transport="+p.Transport] = true
		seen["pingmode="+p.PingMode] = true
		if p.AlternativeProxies != "" {
			seen["alternative_proxies"] = true
		}
		if p.ExtAddrs != "" {
			seen["extaddrs"] = true
		}
		if p.Enabled == 0 {
			seen["disabled"] = true
		}
		if p.ServerIdx != 11 {
			seen["other serveridx"] = true
		}
	}
	for _, want := range []string{"reg=0", "reg=1", "proxy=set", "proxy=empty", "transport=udp", "transport=tcp",
		"transport=tls", "pingmode=none", "pingmode=options", "pingmode=rn", "alternative_proxies", "extaddrs",
		"disabled", "other serveridx"} {
		if !seen[want] {
			t.Errorf("testdata/providers has no provider with %s", want)
		}
	}
}

// TestBuiltinTrunkPatterns: the drop guard finds exactly the rendered
// trunks in each built-in template's golden output (uacreg holds the
// registering ones only, the version table none).
func TestBuiltinTrunkPatterns(t *testing.T) {
	all, registering := "alpha,bravo,charlie,delta,golf", "alpha,bravo,charlie,golf"
	for name, want := range map[string]string{
		"kamailio/uacreg": registering, "kamailio/dispatcher.list": all,
		"asterisk/pjsip.conf": all, "freeswitch/gateways.xml": all,
	} {
		tg, err := newTarget(TargetConfig{Name: "t", Template: name, Output: "unused"})
		if err != nil {
			t.Fatal(err)
		}
		data := readFile(t, filepath.Join("testdata", "golden", strings.ReplaceAll(name, "/", "_")+".golden"))
		var got []string
		for n := range tg.trunkNames([]byte(data)) {
			got = append(got, n)
		}
		sort.Strings(got)
		if strings.Join(got, ",") != want {
			t.Errorf("%s: trunks %v, want %s", name, got, want)
		}
	}
	if tg, _ := newTarget(TargetConfig{Name: "t", Template: "kamailio/version", Output: "unused"}); tg.trunkRe != nil {
		t.Error("kamailio/version has a trunk pattern")
	}
}
