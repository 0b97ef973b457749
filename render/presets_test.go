package render

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The FreeSWITCH and Asterisk presets run against recording stand-ins
// for fs_cli and asterisk -rx (neither engine is packaged for the test
// machine): shell scripts that log their argv and answer as the real CLI
// does, including its error forms. State lives in files next to them.

// fsCLIStandIn answers fs_cli -x: killgw (also _all_), startgw,
// xmlstatus and rescan (starts the gateways of $TRUNKD_OUTPUT) over a
// list of gateways in $dir/gateways; "$dir/down" makes it fail to connect.
const fsCLIStandIn = `#!/bin/sh
set -f
dir=$(dirname "$0")
while [ $# -gt 1 ]; do case "$1" in -x) shift; break;; *) shift;; esac; done
echo "$1" >> "$dir/calls"
if [ -f "$dir/down" ]; then echo "[ERROR] fs_cli.c:1699 main() Error Connecting []"; exit 255; fi
set -- $1
case "$4" in
killgw)
	if [ "$5" = _all_ ]; then : > "$dir/gateways"; echo "+OK every gateway marked for deletion."
	elif grep -qx "$5" "$dir/gateways"; then grep -vx "$5" "$dir/gateways" > "$dir/g.tmp"; mv "$dir/g.tmp" "$dir/gateways"; echo "+OK gateway marked for deletion."
	else echo "-ERR no such gateway."; fi ;;
startgw)
	if [ -f "$dir/refuse" ]; then echo "-ERR gateway $5 failed to start"; exit 0; fi
	if grep -qx "$5" "$dir/gateways"; then echo "-ERR gateway $5 already exists"; else echo "$5" >> "$dir/gateways"; echo "+OK started gateway $5"; fi ;;
rescan)
	for g in $(sed -n 's/.*<gateway name="\([^"]*\)".*/\1/p' "$TRUNKD_OUTPUT"); do grep -qx "$g" "$dir/gateways" || echo "$g" >> "$dir/gateways"; done
	echo "+OK scan complete" ;;
*)
	if [ "$2" = xmlstatus ]; then
		if grep -qx "$4" "$dir/gateways"; then echo "<gateway><name>$4</name><state>REGED</state></gateway>"; else echo "Invalid Gateway!"; fi
	else echo "-ERR Unknown command"; fi ;;
esac
`

// asteriskStandIn answers asterisk -rx: module reload, pjsip send
// register/unregister over the registrations in $dir/regs (or *all).
const asteriskStandIn = `#!/bin/sh
set -f
dir=$(dirname "$0")
while [ $# -gt 1 ]; do case "$1" in -rx) shift; break;; *) shift;; esac; done
echo "$1" >> "$dir/calls"
if [ -f "$dir/down" ]; then echo "Unable to connect to remote asterisk (does /var/run/asterisk/asterisk.ctl exist?)"; exit 1; fi
set -- $1
case "$1 $2" in
"module reload") echo "Module '$3' reloaded successfully." ;;
"pjsip send")
	if [ "$4" = "*all" ]; then echo "$3 all queued"
	elif grep -qx "$4" "$dir/regs"; then :; else echo "Unable to retrieve registration $4"; fi ;;
*) echo "No such command '$*' (type 'core show help' for help)" ;;
esac
`

// standIn writes a stand-in CLI into a temp dir and returns its path.
func standIn(t *testing.T, name, script string, state ...string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(state); i += 2 {
		writeFile(t, filepath.Join(dir, state[i]), state[i+1])
	}
	return path
}

// calls returns the commands the stand-in got since the last call.
func calls(t *testing.T, cli string, seen *int) []string {
	t.Helper()
	text := strings.TrimSpace(readFileOr(filepath.Join(filepath.Dir(cli), "calls")))
	var lines []string
	if text != "" {
		lines = strings.Split(text, "\n")
	}
	got := lines[min(*seen, len(lines)):]
	*seen = len(lines)
	return got
}

// renderStep returns step(what, want...): render f's snapshot once and
// check that the stand-in cli got exactly the commands want since the
// last step (in any order: trunks' actions run in parallel).
func renderStep(t *testing.T, r *Renderer, f *fixture, cli string) func(what string, want ...string) {
	seen := 0
	return func(what string, want ...string) {
		t.Helper()
		if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil && !errors.Is(err, ErrTrunkActionFailed) {
			t.Fatal(err)
		}
		got := calls(t, cli, &seen)
		slices.Sort(got)
		if !slices.Equal(got, slices.Sorted(slices.Values(want))) {
			t.Errorf("%s: %s got %q, want %q", what, filepath.Base(cli), got, want)
		}
	}
}

// presetTarget is a target of template with engine and vars over f.
func presetTarget(f *fixture, name, template, engine string, vars map[string]string) TargetConfig {
	return TargetConfig{Name: name, Template: template, Output: filepath.Join(f.out, name), Engine: engine,
		Vars: vars, TrunkActionsMaxShare: 0.5, ReloadCmd: "echo reload >> " + filepath.Join(f.out, "reloads")}
}

func TestFreeSWITCHPreset(t *testing.T) {
	f := newFixture(t, "a1", "a2", "a3", "a4")
	cli := standIn(t, "fs_cli", fsCLIStandIn, "gateways", "a1\na2\na3\na4\n")
	tc := presetTarget(f, "gw", "freeswitch/gateways.xml", "freeswitch",
		map[string]string{"fs_cli": cli, "fs_cli_args": "-H 127.0.0.1 -P 8021", "sofia_profile": "trunks"})
	r, _, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
	step := renderStep(t, r, f, cli)
	step("first start (reload_cmd)")
	f.set(t, "a2", trunkYAML("a2", "new-pw", 300))
	step("change", "sofia xmlstatus gateway a2", "sofia profile trunks killgw a2", "sofia xmlstatus gateway a2", "sofia profile trunks startgw a2")
	if log := readFileOr(filepath.Join(filepath.Dir(cli), "calls")); strings.Index(log, "killgw a2") > strings.Index(log, "startgw a2") {
		t.Errorf("startgw ran before killgw:\n%s", log)
	}
	f.set(t, "a5", trunkYAML("a5", "a5-pw", 300))
	step("add", "sofia profile trunks startgw a5")
	f.set(t, "a5", "")
	step("remove", "sofia xmlstatus gateway a5", "sofia profile trunks killgw a5")
	if f.reloads() != 1 {
		t.Errorf("%d reloads, want only the first start's", f.reloads())
	}
	// -ERR with exit 0, and an engine that is down: reported per trunk.
	writeFile(t, filepath.Join(filepath.Dir(cli), "refuse"), "")
	f.set(t, "a6", trunkYAML("a6", "a6-pw", 300))
	step("refused add", "sofia profile trunks startgw a6")
	st := targetStatus(t, r, "gw")
	if len(st.TrunkActionErrors) != 1 || st.TrunkActionErrors[0].Code != "a6" || !strings.Contains(st.TrunkActionErrors[0].Output, "-ERR gateway a6 failed to start") {
		t.Errorf("refused add: trunk action errors %+v", st.TrunkActionErrors)
	}
	os.Remove(filepath.Join(filepath.Dir(cli), "refuse"))
	writeFile(t, filepath.Join(filepath.Dir(cli), "down"), "")
	f.set(t, "a1", trunkYAML("a1", "new-pw", 300))
	step("engine down", "sofia xmlstatus gateway a1", "sofia profile trunks killgw a1", "sofia profile trunks startgw a6")
	st = targetStatus(t, r, "gw")
	if len(st.TrunkActionErrors) != 2 || !strings.Contains(st.TrunkActionErrors[0].Output, "Error Connecting") || !strings.Contains(readFile(t, tc.Output), "new-pw") {
		t.Errorf("engine down: trunk action errors %+v", st.TrunkActionErrors)
	}
}

func TestAsteriskPreset(t *testing.T) {
	f := newFixture(t, "a1", "a2", "a3", "a4")
	cli := standIn(t, "asterisk", asteriskStandIn, "regs", "a1-reg\na2-reg\na3-reg\na4-reg\na5-reg\n")
	tc := presetTarget(f, "pjsip", "asterisk/pjsip.conf", "asterisk",
		map[string]string{"asterisk": cli, "asterisk_args": "-C /etc/asterisk/asterisk.conf"})
	r, _, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
	step := renderStep(t, r, f, cli)
	step("first start (reload_cmd)")
	f.set(t, "a2", trunkYAML("a2", "new-pw", 300))
	step("change", "module reload res_pjsip.so", "pjsip send register a2-reg")
	f.set(t, "a5", trunkYAML("a5", "a5-pw", 300))
	step("add", "module reload res_pjsip.so")
	f.set(t, "a5", "")
	step("remove", "pjsip send unregister a5-reg")
	if f.reloads() != 1 {
		t.Errorf("%d reloads, want only the first start's", f.reloads())
	}
	// An unknown registration (exit 0) and an engine that is down.
	f.set(t, "a6", trunkYAML("a6", "a6-pw", 300))
	step("add a6", "module reload res_pjsip.so")
	f.set(t, "a6", trunkYAML("a6", "new-pw", 300))
	step("change of an unknown registration", "module reload res_pjsip.so", "pjsip send register a6-reg")
	st := targetStatus(t, r, "pjsip")
	if len(st.TrunkActionErrors) != 1 || !strings.Contains(st.TrunkActionErrors[0].Output, "Unable to retrieve registration a6-reg") {
		t.Errorf("unknown registration: trunk action errors %+v", st.TrunkActionErrors)
	}
	writeFile(t, filepath.Join(filepath.Dir(cli), "down"), "")
	f.set(t, "a1", trunkYAML("a1", "new-pw", 300))
	step("engine down", "module reload res_pjsip.so", "module reload res_pjsip.so")
	st = targetStatus(t, r, "pjsip")
	if len(st.TrunkActionErrors) != 2 || !strings.Contains(st.TrunkActionErrors[0].Output, "Unable to connect") {
		t.Errorf("engine down: trunk action errors %+v", st.TrunkActionErrors)
	}
}

func TestUnknownEngine(t *testing.T) {
	_, err := New(Config{Targets: []TargetConfig{{Name: "x", Template: "kamailio/uacreg", Output: filepath.Join(t.TempDir(), "u"), Engine: "opensips"}}}, Options{})
	if err == nil || !strings.Contains(err.Error(), `engine: unknown engine "opensips" (known: asterisk, freeswitch, kamailio)`) {
		t.Fatalf("err = %v", err)
	}
}

// TestKamailioPresetEngineDownOrHung runs the kamailio preset's real
// kamcmd against a control socket that does not exist (Kamailio down:
// kamcmd exits 255) and one that accepts but never answers (Kamailio
// hung: the action times out): the live file takes the change, the other
// trunks are untouched, and the failure is listed for the changed trunk
// (it is retried as in TestTrunkActionFailures).
func TestKamailioPresetEngineDownOrHung(t *testing.T) {
	kamcmd := need(t, "kamcmd")
	for _, tt := range []struct{ name, message string }{
		{name: "down", message: "exit status 255"},
		{name: "hung", message: "timed out"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "a1", "a2", "a3", "a4")
			sock := filepath.Join(t.TempDir(), "kamailio_ctl")
			if tt.name == "hung" {
				l, err := net.Listen("unix", sock)
				if err != nil {
					t.Fatal(err)
				}
				var held []net.Conn // accepted, never answered
				done := make(chan struct{})
				go func() {
					defer close(done)
					for {
						c, err := l.Accept()
						if err != nil {
							return
						}
						held = append(held, c)
					}
				}()
				t.Cleanup(func() {
					l.Close()
					<-done
					for _, c := range held {
						c.Close()
					}
				})
			}
			tc := presetTarget(f, "uacreg", "kamailio/uacreg", "kamailio", map[string]string{"kamcmd": kamcmd, "kamcmd_socket": "unix:" + sock})
			tc.Timeout = 2 * time.Second
			r, _, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
			if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
				t.Fatal(err)
			}
			f.set(t, "a2", trunkYAML("a2", "a2-new", 300))
			err := r.RenderOnce(t.Context(), f.reg.Snapshot())
			if !errors.Is(err, ErrTrunkActionFailed) || !strings.Contains(err.Error(), `trunk "a2"`) || strings.Contains(err.Error(), "a2-new") {
				t.Fatalf("RenderOnce = %v, want a2's change failed (without its password)", err)
			}
			live := readFile(t, tc.Output)
			if !strings.Contains(live, ":a2-new:") || !strings.Contains(live, ":a1-pw:") || f.reloads() != 1 {
				t.Fatalf("live file (%d reloads):\n%s", f.reloads(), live)
			}
			st := targetStatus(t, r, "uacreg")
			if len(st.TrunkActionErrors) != 1 || st.TrunkActionErrors[0].Code != "a2" || !strings.Contains(st.TrunkActionErrors[0].Message, tt.message) {
				t.Fatalf("trunk action errors %+v, want a2: %s", st.TrunkActionErrors, tt.message)
			}
		})
	}
}

// kamcmdStandIn answers kamcmd as Kamailio 6.0 does, or as 5.x does
// when $dir/5x exists (no uac.reg_register); $dir/missing lists records
// Kamailio does not know (404).
const kamcmdStandIn = `#!/bin/sh
dir=$(dirname "$0")
while [ $# -gt 0 ]; do case "$1" in -s) shift 2;; *) break;; esac; done
echo "$*" >> "$dir/calls"
code=$(eval echo \${$#})
if [ "$1" = uac.reg_register ] && [ -f "$dir/5x" ]; then echo "error: 500 - command uac.reg_register not found"; exit 0; fi
if [ -f "$dir/missing" ] && grep -qx "$code" "$dir/missing"; then echo "error: 404 - Record not found"; fi
`

// TestKamailioPresetRegisterAtOnce: add and change refresh the record,
// then ask for its REGISTER at once (uac.reg_register, Kamailio 6.0);
// Kamailio 5.x, which lacks that command, is no failure (the record
// REGISTERs on its next timer tick, as TestKamailioPresetRunLoop shows
// with the real 5.x); a record Kamailio does not know is. A fenced
// target does not ask (reg_register ignores uac.reg_active 0).
func TestKamailioPresetRegisterAtOnce(t *testing.T) {
	f := newFixture(t, "a1", "a2", "a3", "a4")
	cli := standIn(t, "kamcmd", kamcmdStandIn)
	tc := presetTarget(f, "uacreg", "kamailio/uacreg", "kamailio", map[string]string{"kamcmd": cli, "kamcmd_socket": "unix:/run/ctl"})
	r, _, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
	step := renderStep(t, r, f, cli)
	step("first start (reload_cmd)")
	f.set(t, "a2", trunkYAML("a2", "new-pw", 300))
	step("change (6.0)", "uac.reg_refresh a2", "uac.reg_register l_uuid a2")
	writeFile(t, filepath.Join(filepath.Dir(cli), "5x"), "")
	f.set(t, "a5", trunkYAML("a5", "a5-pw", 300))
	step("add (5.x)", "uac.reg_refresh a5", "uac.reg_register l_uuid a5")
	if st := targetStatus(t, r, "uacreg"); len(st.TrunkActionErrors) != 0 {
		t.Fatalf("5.x without uac.reg_register: trunk action errors %+v", st.TrunkActionErrors)
	}
	writeFile(t, filepath.Join(filepath.Dir(cli), "missing"), "a3\n")
	f.set(t, "a3", trunkYAML("a3", "new-pw", 300))
	step("unknown record", "uac.reg_refresh a3")
	f.set(t, "a5", "")
	step("remove", "uac.reg_unregister l_uuid a5", "uac.reg_disable l_uuid a5", "uac.reg_refresh a3")
	st := targetStatus(t, r, "uacreg")
	if len(st.TrunkActionErrors) != 1 || st.TrunkActionErrors[0].Code != "a3" || !strings.Contains(st.TrunkActionErrors[0].Output, "404") {
		t.Errorf("unknown record: trunk action errors %+v", st.TrunkActionErrors)
	}
	// Fenced (uac.reg_active 0): the refresh only; the timer, stopped by
	// the fence, sends the REGISTER once unfenced.
	os.Remove(filepath.Join(filepath.Dir(cli), "missing"))
	if err := r.Fence(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.set(t, "a4", trunkYAML("a4", "new-pw", 300))
	step("change while fenced", "uac.reg_active 0", "uac.reg_refresh a4", "uac.reg_refresh a3")
}
