package render

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trunkd/trunkd/registry"
)

// TestFencePresets runs the FreeSWITCH and Asterisk presets' fence and
// unfence through Run against the recording stand-ins: the unfence after
// a start, Fence at once, the fenced render, and the unfence after the
// next ownership, which the engine answers with only the owned trunks
// registering.
func TestFencePresets(t *testing.T) {
	for _, tc := range []struct {
		name, template, engine, cli, script, state, stateText string
		vars                                                  func(cli string) map[string]string
		unfence, fence, regained                              []string
		check                                                 func(t *testing.T, dir, output string)
	}{
		{
			name: "freeswitch", template: "freeswitch/gateways.xml", engine: "freeswitch", cli: "fs_cli", script: fsCLIStandIn,
			state: "gateways", stateText: "a1\na2\n",
			vars:     func(cli string) map[string]string { return map[string]string{"fs_cli": cli, "sofia_profile": "trunks"} },
			unfence:  []string{"sofia profile trunks rescan"},
			fence:    []string{"sofia profile trunks killgw _all_"},
			regained: []string{"sofia xmlstatus gateway a1", "sofia profile trunks startgw a1", "sofia profile trunks rescan"},
			check: func(t *testing.T, dir, output string) {
				// The gateways run again, and only a1 registers.
				if got := readFile(t, filepath.Join(dir, "gateways")); got != "a1\na2\n" {
					t.Errorf("gateways after the unfence %q", got)
				}
				if strings.Count(output, `name="register" value="true"`) != 1 {
					t.Errorf("gateways.xml registers %d trunks, want a1 only", strings.Count(output, `name="register" value="true"`))
				}
			},
		},
		{
			name: "asterisk", template: "asterisk/pjsip.conf", engine: "asterisk", cli: "asterisk", script: asteriskStandIn,
			state: "regs", stateText: "a1-reg\na2-reg\n",
			vars:     func(cli string) map[string]string { return map[string]string{"asterisk": cli} },
			unfence:  []string{"module reload res_pjsip.so", "pjsip send register *all"},
			fence:    []string{"pjsip send unregister *all"},
			regained: []string{"module reload res_pjsip.so", "pjsip send register a1-reg", "module reload res_pjsip.so", "pjsip send register *all"},
			check: func(t *testing.T, _, output string) {
				if !strings.Contains(output, "[a1-reg]") || strings.Contains(output, "[a2-reg]") {
					t.Errorf("pjsip.conf registrations: want a1's only")
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "a1", "a2")
			cli := standIn(t, tc.cli, tc.script, tc.state, tc.stateText)
			target := presetTarget(f, "t", tc.template, tc.engine, tc.vars(cli))
			owns := make(chan Ownership, 1)
			r, err := New(Config{Targets: []TargetConfig{target}}, Options{ServerIndex: -1, Ownership: owns, MinInterval: -1,
				Registerer: prometheus.NewRegistry(), Logger: discardLogger(), RetryMin: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done, snaps := make(chan error, 1), make(chan *registry.Snapshot, 1)
			snaps <- f.reg.Snapshot()
			go func() { done <- r.Run(ctx, snaps) }()
			defer func() { cancel(); <-done }()
			seen := 0
			expect := func(what string, want []string) {
				t.Helper()
				got := calls(t, cli, &seen)
				if !slices.Equal(got, want) {
					t.Errorf("%s: %s got %q, want %q", what, tc.cli, got, want)
				}
			}
			give := func(own *staticOwnership, fenced bool) {
				t.Helper()
				owns <- own
				waitFor(t, 10*time.Second, "the ownership to be applied", func() bool {
					st := targetStatus(t, r, "t")
					return appliedOwnership(r) == own.gen && st.Fence != nil && st.Fence.Fenced == fenced
				})
			}

			give(owning(1, "a1", "a2"), false)
			expect("start", tc.unfence)
			if err := r.Fence(t.Context()); err != nil {
				t.Fatal(err)
			}
			expect("Fence", tc.fence)
			give(&staticOwnership{gen: 2, fenced: true}, true)
			expect("fenced render (a whole-file reload: every trunk changed)", nil)
			give(owning(3, "a1"), false)
			got := calls(t, cli, &seen)
			slices.Sort(got)
			if want := slices.Sorted(slices.Values(tc.regained)); !slices.Equal(got, want) {
				t.Errorf("a1 regained: %s got %q, want %q", tc.cli, got, want)
			}
			if st := targetStatus(t, r, "t"); len(st.TrunkActionErrors) != 0 || st.Fence.Error != "" {
				t.Errorf("trunk action errors %+v, fence %+v", st.TrunkActionErrors, st.Fence)
			}
			tc.check(t, filepath.Dir(cli), readFile(t, target.Output))
		})
	}
}
