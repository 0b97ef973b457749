package render

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trunkd/trunkd/registry"
)

// staticOwnership is a fixed ownership, as a cluster view would deliver.
type staticOwnership struct {
	gen    uint64
	fenced bool
	owned  map[string]bool
}

func (o *staticOwnership) Owns(code string) bool { return o.owned[code] }
func (o *staticOwnership) Fenced() bool          { return o.fenced }
func (o *staticOwnership) Generation() uint64    { return o.gen }

func owning(gen uint64, codes ...string) *staticOwnership {
	o := &staticOwnership{gen: gen, owned: map[string]bool{}}
	for _, c := range codes {
		o.owned[c] = true
	}
	return o
}

// ownLab is a registry of three registering trunks and a renderer with
// uacreg (per-trunk actions and a fence that log to a file), dispatcher,
// FreeSWITCH and Asterisk targets, fed by Run with an ownership channel.
type ownLab struct {
	dir, log string
	r        *Renderer
	owns     chan Ownership
	snaps    chan *registry.Snapshot
	snap     *registry.Snapshot
	done     chan error
}

func newOwnLab(t *testing.T, opts Options, tweak func(uacreg *TargetConfig)) *ownLab {
	t.Helper()
	l := &ownLab{dir: t.TempDir(), owns: make(chan Ownership, 1), snaps: make(chan *registry.Snapshot, 1), done: make(chan error, 1)}
	l.log = filepath.Join(l.dir, "actions.log")
	providers := filepath.Join(l.dir, "providers")
	for _, code := range []string{"alpha", "bravo", "charlie"} {
		writeFile(t, filepath.Join(providers, code+".yaml"), trunkYAML(code, "pw-"+code, 600))
	}
	// Each command logs its kind, trunk and whether the trunk is in the
	// live file at that moment.
	record := `n=-; if [ -n "$TRUNKD_TRUNK" ]; then n=$(grep -c ":$TRUNKD_TRUNK:" "$TRUNKD_OUTPUT"); fi; echo "$TRUNKD_ACTION $TRUNKD_TRUNK $n" >> ` + l.log
	uacreg := TargetConfig{Name: "uacreg", Template: "kamailio/uacreg", Output: filepath.Join(l.dir, "uacreg"),
		ReloadCmd: `echo "reload - -" >> ` + l.log, TrunkAddCmd: record, TrunkChangeCmd: record, TrunkRemoveCmd: record,
		TrunkActionsMaxShare: 1, FenceCmd: record, UnfenceCmd: record}
	if tweak != nil {
		tweak(&uacreg)
	}
	cfg := Config{Targets: []TargetConfig{uacreg,
		{Name: "dispatcher", Template: "kamailio/dispatcher.list", Output: filepath.Join(l.dir, "dispatcher.list")},
		{Name: "gateways", Template: "freeswitch/gateways.xml", Output: filepath.Join(l.dir, "gateways.xml")},
		{Name: "pjsip", Template: "asterisk/pjsip.conf", Output: filepath.Join(l.dir, "pjsip.conf")},
	}}
	opts.Ownership, opts.Logger, opts.Registerer = l.owns, slog.New(slog.NewTextHandler(&logBuffer{}, nil)), prometheus.NewRegistry()
	opts.ServerIndex, opts.MinInterval = -1, -1
	r, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	l.r = r
	ctx, cancel := context.WithCancel(t.Context())
	go func() { l.done <- r.Run(ctx, l.snaps) }()
	t.Cleanup(func() { cancel(); <-l.done })
	l.snap = openRegistry(t, providers).Snapshot()
	l.snaps <- l.snap
	return l
}

// give delivers own and waits until every target applied it.
func (l *ownLab) give(t *testing.T, own *staticOwnership) {
	t.Helper()
	l.owns <- own
	waitFor(t, 10*time.Second, "ownership to be applied", func() bool { return appliedOwnership(l.r) == own.gen })
}

// fenceBeside calls Fence while a command of the lab waits for the file
// "go" and fails unless Fence returns within 10 s (writing "go" first, so
// that the command ends): what waits must not hold a fence back.
func (l *ownLab) fenceBeside(t *testing.T, what string) {
	t.Helper()
	fenced := make(chan error, 1)
	go func() { fenced <- l.r.Fence(t.Context()) }()
	select {
	case err := <-fenced:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		writeFile(t, filepath.Join(l.dir, "go"), "")
		t.Fatalf("Fence waited for %s", what)
	}
}

// actions returns the logged commands since the last call.
func (l *ownLab) actions(seen *int) []string {
	text := strings.TrimSpace(readFileOr(l.log))
	var lines []string
	if text != "" {
		lines = strings.Split(text, "\n")
	}
	got := lines[min(*seen, len(lines)):]
	*seen = len(lines)
	return got
}

func (l *ownLab) file(t *testing.T, name string) string {
	return readFile(t, filepath.Join(l.dir, name))
}

// TestOwnershipThroughRun: only owned trunks have registering parts
// (uacreg rows, pjsip registrations, FreeSWITCH register=true), routing
// parts stay for every trunk; a gained trunk is added, a lost one removed
// while still in the live file; a fenced ownership drops every
// registering part, and the unfence runs once an unfenced ownership is
// rendered.
func TestOwnershipThroughRun(t *testing.T) {
	l := newOwnLab(t, Options{}, nil)
	var seen int
	l.give(t, owning(1, "alpha"))
	// Nothing was rendered before the first ownership: the first render
	// wrote the files whole (reload), with alpha's row only.
	if got := l.actions(&seen); strings.Join(got, "|") != "reload - -|unfence  -" {
		t.Fatalf("commands %q, want the first reload and the unfence after a start", got)
	}
	l.assertRegistering(t, "alpha")

	l.give(t, owning(2, "alpha", "bravo"))
	if got := l.actions(&seen); strings.Join(got, "|") != "add bravo 1" {
		t.Fatalf("gaining bravo ran %q, want its add action after the file", got)
	}
	l.assertRegistering(t, "alpha", "bravo")

	l.give(t, owning(3, "bravo"))
	if got := l.actions(&seen); strings.Join(got, "|") != "remove alpha 1" {
		t.Fatalf("losing alpha ran %q, want its remove action while it is still in the file", got)
	}
	l.assertRegistering(t, "bravo")

	l.give(t, &staticOwnership{gen: 4, fenced: true, owned: map[string]bool{"bravo": true}})
	if got := l.actions(&seen); strings.Join(got, "|") != "fence  -|remove bravo 1" {
		t.Fatalf("a fenced ownership ran %q, want the fence first, then bravo's removal", got)
	}
	l.assertRegistering(t)
	if st := targetStatus(t, l.r, "uacreg"); st.State != StateOK || st.Fence == nil || !st.Fence.Fenced {
		t.Fatalf("uacreg after the fence: state %s, fence %+v", st.State, st.Fence)
	}
	if g := testutil.ToFloat64(l.r.m.fenced.WithLabelValues("uacreg")); g != 1 {
		t.Fatalf("trunkd_render_fenced %v while fenced", g)
	}

	l.give(t, owning(5, "alpha", "charlie"))
	got := l.actions(&seen)
	slices.Sort(got[:min(2, len(got))]) // the adds run in parallel
	if strings.Join(got, "|") != "add alpha 1|add charlie 1|unfence  -" {
		t.Fatalf("the unfenced ownership ran %q, want the adds, then the unfence", got)
	}
	l.assertRegistering(t, "alpha", "charlie")
	if st := targetStatus(t, l.r, "uacreg"); st.Fence.Fenced || st.Fence.Action != ActionUnfence || st.OwnershipGeneration != 5 {
		t.Fatalf("uacreg status after the unfence: %+v, ownership %d", st.Fence, st.OwnershipGeneration)
	}
	if g := testutil.ToFloat64(l.r.m.fenced.WithLabelValues("uacreg")); g != 0 {
		t.Fatalf("trunkd_render_fenced %v after the unfence", g)
	}
	if held := testutil.ToFloat64(l.r.m.held.WithLabelValues("uacreg")); held != 0 {
		t.Fatal("the drop guard held an ownership change back")
	}
}

// assertRegistering checks that exactly codes have registering parts in
// every file and that every trunk keeps its routing parts.
func (l *ownLab) assertRegistering(t *testing.T, codes ...string) {
	t.Helper()
	uacreg, gw, pjsip, ds := l.file(t, "uacreg"), l.file(t, "gateways.xml"), l.file(t, "pjsip.conf"), l.file(t, "dispatcher.list")
	want := map[string]bool{}
	for _, c := range codes {
		want[c] = true
	}
	if n := strings.Count(uacreg, "\n") - 1; n != len(codes) {
		t.Errorf("uacreg has %d rows, want %d", n, len(codes))
	}
	for _, c := range []string{"alpha", "bravo", "charlie"} {
		if got := strings.Contains(uacreg, ":"+c+":"); got != want[c] {
			t.Errorf("uacreg row of %s: %v, want %v", c, got, want[c])
		}
		if got := strings.Contains(pjsip, "["+c+"-reg]"); got != want[c] {
			t.Errorf("pjsip registration of %s: %v, want %v", c, got, want[c])
		}
		if !strings.Contains(pjsip, "["+c+"-identify]") || !strings.Contains(ds, "duid="+c) {
			t.Errorf("routing parts of %s missing", c)
		}
		gwc := gw[strings.Index(gw, `<gateway name="`+c+`">`):]
		gwc = gwc[:strings.Index(gwc, "</gateway>")]
		if got := strings.Contains(gwc, `name="register" value="true"`); got != want[c] {
			t.Errorf("FreeSWITCH gateway %s registers: %v, want %v", c, got, want[c])
		}
	}
}

// TestOwnershipOfEveryTrunkIsTheGolden: owning every trunk renders the
// same bytes as a node alone (nil ownership), for every built-in template.
func TestOwnershipOfEveryTrunkIsTheGolden(t *testing.T) {
	reg := openRegistry(t, filepath.Join("testdata", "providers"))
	snap := reg.Snapshot()
	all := owning(1)
	for _, p := range snap.Providers() {
		all.owned[p.Code] = true
	}
	for _, name := range []string{"kamailio/uacreg", "kamailio/dispatcher.list", "freeswitch/gateways.xml", "asterisk/pjsip.conf"} {
		dir := t.TempDir()
		alone, _, _ := testRenderer(t, Config{Targets: []TargetConfig{{Name: "t", Template: name, Output: filepath.Join(dir, "alone")}}}, -1)
		owner, _, _ := testRenderer(t, Config{Targets: []TargetConfig{{Name: "t", Template: name, Output: filepath.Join(dir, "owner")}}}, -1)
		owner.own = all
		for _, r := range []*Renderer{alone, owner} {
			if err := r.RenderOnce(t.Context(), snap); err != nil {
				t.Fatal(err)
			}
		}
		if a, o := readFile(t, filepath.Join(dir, "alone")), readFile(t, filepath.Join(dir, "owner")); a != o {
			t.Errorf("%s: owning every trunk renders differently from a node alone", name)
		}
	}
}

// TestFenceDuringRender: Fence runs at once while a render waits for a
// per-trunk action, and fences again once that apply ends (the action
// may have started a registration after the fence); the unfence waits
// for an unfenced ownership.
func TestFenceDuringRender(t *testing.T) {
	l := newOwnLab(t, Options{}, func(uacreg *TargetConfig) {
		dir := filepath.Dir(uacreg.Output)
		uacreg.TrunkAddCmd = `touch ` + dir + `/add-started; while [ ! -e ` + dir + `/go ]; do sleep 0.01; done; ` + uacreg.TrunkAddCmd
	})
	var seen int
	l.give(t, owning(1, "alpha"))
	l.actions(&seen)
	l.owns <- owning(2, "alpha", "bravo")
	waitFor(t, 10*time.Second, "bravo's add action to start", func() bool { return fileExists(filepath.Join(l.dir, "add-started")) })
	start := time.Now()
	l.fenceBeside(t, "the render in progress")
	took := time.Since(start)
	if got := l.actions(&seen); strings.Join(got, "|") != "fence  -" {
		t.Fatalf("Fence during a render ran %q", got)
	}
	t.Logf("Fence returned %v after it was called, with a render in progress (loaded machine)", took.Round(time.Millisecond))
	writeFile(t, filepath.Join(l.dir, "go"), "")
	waitFor(t, 10*time.Second, "the apply to end", func() bool { return appliedOwnership(l.r) == 2 })
	waitFor(t, 10*time.Second, "the fence after the apply", func() bool { return strings.Count(readFileOr(l.log), "fence") >= 3 })
	if got := l.actions(&seen); strings.Join(got, "|") != "add bravo 1|fence  -" {
		t.Fatalf("after the apply: %q, want bravo's add, then the fence again", got)
	}
	if st := targetStatus(t, l.r, "uacreg"); !st.Fence.Fenced || st.Fence.Action != ActionFence {
		t.Fatalf("fence status %+v", st.Fence)
	}
	// A render of the older ownership (a new snapshot) leaves the fence.
	last := *targetStatus(t, l.r, "uacreg").LastSuccess
	l.snaps <- l.snap
	waitFor(t, 10*time.Second, "a render of the snapshot", func() bool { return targetStatus(t, l.r, "uacreg").LastSuccess.After(last) })
	if got := l.actions(&seen); len(got) != 0 {
		t.Fatalf("a render of the ownership given before the fence ran %q", got)
	}
	l.give(t, owning(3, "alpha", "bravo", "charlie"))
	if got := l.actions(&seen); strings.Join(got, "|") != "add charlie 1|unfence  -" {
		t.Fatalf("the next ownership ran %q, want charlie's add, then the unfence", got)
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestTrunkOutputsKeyOnOwnership: a trunk keeps its *Trunk (and so its
// kept block outputs) while it registers as before; only a trunk whose
// ownership flips gets a new one, and the withheld codes are the reg: 1
// trunks another node owns.
func TestTrunkOutputsKeyOnOwnership(t *testing.T) {
	snap := openRegistry(t, filepath.Join("testdata", "providers")).Snapshot()
	var c trunkOutputs
	byCode := func(set trunkSet) map[string]*Trunk {
		m := map[string]*Trunk{}
		for _, tr := range set.trunks {
			m[tr.Code] = tr
		}
		return m
	}
	first := byCode(c.get(snap, -1, owning(1, "alpha", "bravo")))
	same := c.get(snap, -1, owning(2, "alpha", "bravo"))
	for code, tr := range byCode(same) {
		if first[code] != tr {
			t.Errorf("%s: a new *Trunk for the same ownership", code)
		}
	}
	lost := c.get(snap, -1, owning(3, "bravo"))
	for code, tr := range byCode(lost) {
		if changed := first[code] != tr; changed != (code == "alpha") {
			t.Errorf("%s: new *Trunk %v after alpha was lost", code, changed)
		}
		if tr.Registers != (code == "bravo") {
			t.Errorf("%s: Registers %v", code, tr.Registers)
		}
	}
	for _, code := range []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "nosuch"} {
		want := code == "alpha" || code == "charlie" || code == "foxtrot" || code == "golf" // reg: 1, active, not owned
		if got := lost.withholds(code); got != want {
			t.Errorf("withholds(%s) = %v, want %v", code, got, want)
		}
	}
	if len(lost.registering) != 1 || lost.registering[0].Code != "bravo" {
		t.Errorf("registering %v", lost.registering)
	}
	if alone := c.get(snap, -1, nil); alone.withholds("alpha") || len(alone.registering) != 5 {
		t.Errorf("alone: alpha withheld, or %d registering", len(alone.registering))
	}
}

// BenchmarkTrunkCacheOwnership10k: deriving the trunks of a snapshot with
// one changed provider from the kept ones (trunkOutputs.get), alone (nil
// ownership) and in a cluster owning half the trunks: with the same
// ownership (an unchanged trunk keeps its *Trunk without an Owns call)
// and with a new one each round (one Owns call per active trunk).
func BenchmarkTrunkCacheOwnership10k(b *testing.B) {
	dir := b.TempDir()
	benchProviders(b, dir, 10000)
	reg := openRegistry(b, dir)
	snaps := [2]*registry.Snapshot{reg.Snapshot(), changeOne(b, reg, 1)}
	half := owning(1)
	for i, p := range snaps[0].Providers() {
		if i%2 == 0 {
			half.owned[p.Code] = true
		}
	}
	for _, tc := range []struct {
		name string
		own  func(round int) Ownership
	}{
		{"alone", func(int) Ownership { return nil }},
		{"owner of half", func(int) Ownership { return half }},
		{"owner of half, new ownership", func(round int) Ownership { return &staticOwnership{gen: uint64(round), owned: half.owned} }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var outs trunkOutputs
			i := 0
			for b.Loop() {
				i++
				outs.get(snaps[i%2], -1, tc.own(i))
			}
		})
	}
}

// TestFenceStopsUnfenceUnderWay: a Fence while the target's unfence_cmd
// runs stops that command and fences after it, so no unfence can end after
// the fence (the engine would register while the node is fenced); the
// stopped unfence is no failure, and the next ownership unfences again.
func TestFenceStopsUnfenceUnderWay(t *testing.T) {
	var dir string
	l := newOwnLab(t, Options{}, func(uacreg *TargetConfig) {
		dir = filepath.Dir(uacreg.Output)
		uacreg.UnfenceCmd = `touch ` + dir + `/unfence-started; while [ ! -e ` + dir + `/go ]; do sleep 0.01; done; ` + uacreg.UnfenceCmd
	})
	var seen int
	l.owns <- owning(1, "alpha") // the lab starts fenced: this render unfences
	waitFor(t, 10*time.Second, "the unfence to start", func() bool { return fileExists(filepath.Join(dir, "unfence-started")) })
	l.actions(&seen)
	l.fenceBeside(t, "the unfence under way")
	writeFile(t, filepath.Join(dir, "go"), "") // an unfence still running would end now
	// The apply's settling fences once more after its unfence returned.
	waitFor(t, 10*time.Second, "the fence after the apply", func() bool { return strings.Count(readFileOr(l.log), "fence") >= 2 })
	if got := l.actions(&seen); strings.Join(got, "|") != "fence  -|fence  -" {
		t.Fatalf("commands %q, want the fence twice and no unfence ending after it", got)
	}
	if st := targetStatus(t, l.r, "uacreg"); !st.Fence.Fenced || st.Fence.Action != ActionFence || st.Fence.Error != "" {
		t.Fatalf("fence status %+v", st.Fence)
	}
	if n := testutil.ToFloat64(l.r.m.fenceFailures.WithLabelValues("uacreg", ActionUnfence)); n != 0 {
		t.Errorf("the stopped unfence counted as %v failures", n)
	}
	l.give(t, owning(2, "alpha"))
	waitFor(t, 10*time.Second, "the unfence", func() bool { return !targetStatus(t, l.r, "uacreg").Fence.Fenced })
	if got := l.actions(&seen); strings.Join(got, "|") != "unfence  -" {
		t.Fatalf("the next ownership ran %q, want the unfence", got)
	}
}
