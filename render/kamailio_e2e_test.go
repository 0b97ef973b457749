package render

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trunkd/trunkd/registry"
)

// The end-to-end test: SIPp is the provider's registrar (digest checked
// against users.csv), Kamailio loads the rendered uacreg and
// dispatcher.list, and a real registry with its watcher feeds a running
// renderer whose reload commands call kamcmd.

// lab is one test's Kamailio + SIPp installation.
type lab struct {
	dir, providers, db, dslist, sock string
	sipPort, sippPort                int
	kamcmd                           string
	// cfgModules goes into kamailio.cfg before its routes, cfgRoutes
	// after them (extra modules for a test).
	cfgModules, cfgRoutes string
}

const acmePassword = `se:c\ret` // db_text must escape both ':' and '\'

func TestKamailioEndToEnd(t *testing.T) {
	kamailio, kamcmd, sipp := need(t, "kamailio"), need(t, "kamcmd"), need(t, "sipp")
	l := newLab(t, kamcmd)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	l.startSIPp(t, sipp)
	reg, err := registry.Open(registry.Options{Dir: l.providers, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	// Kamailio needs its files before it starts: render them once, no reload.
	boot, _, _ := testRenderer(t, Config{Targets: l.targets(false)}, -1)
	if err := boot.RenderOnce(ctx, reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	l.startKamailio(t, kamailio)

	r, logs, _ := testRenderer(t, Config{Targets: l.targets(true)}, -1)
	rctx, cancelRun := context.WithCancel(ctx)
	watchDone, runDone := make(chan error, 1), make(chan error, 1)
	go func() { watchDone <- reg.Watch(ctx) }()
	go func() { runDone <- r.Run(rctx, subscribe(t, reg)) }()
	stopRenderer := sync.OnceFunc(func() { cancelRun(); <-runDone })
	defer func() { stopRenderer(); cancel(); <-watchDone }()
	uacreg := filepath.Join(l.db, "uacreg")

	t.Run("add a provider: rendered, reloaded, registered with its credentials", func(t *testing.T) {
		l.writeProvider(t, 60)
		l.waitRegistered(t, 60)
		l.waitSIPpSaw(t, "user=alice valid=true expires=60")
		waitFor(t, 10*time.Second, "dispatcher to list the trunk", func() bool {
			out := l.kam(t, "dispatcher.list")
			return strings.Contains(out, "DUID: acme") && strings.Contains(out, fmt.Sprintf("URI: sip:127.0.0.1:%d", l.sippPort))
		})
	})

	t.Run("edit expires: Kamailio's record follows after the reload", func(t *testing.T) {
		l.writeProvider(t, 120)
		l.waitRegistered(t, 120)
		l.waitSIPpSaw(t, "user=alice valid=true expires=120")
	})
	good := readFile(t, uacreg)
	_, goodMtime := statIno(t, uacreg)

	t.Run("failing check_cmd: file and registration untouched", func(t *testing.T) {
		reloads := l.reloads()
		writeFile(t, filepath.Join(l.dir, "check-fails"), "")
		l.writeProvider(t, 180)
		waitFor(t, 10*time.Second, "the check to reject the candidate", func() bool {
			return testutil.ToFloat64(r.m.failures.WithLabelValues("uacreg", StageCheck)) == 1
		})
		os.Remove(filepath.Join(l.dir, "check-fails"))
		l.assertUntouched(t, uacreg, good, goodMtime, reloads)
		if st := targetStatus(t, r, "uacreg"); st.LastError == nil || !strings.Contains(st.LastError.Output, "refused by the test") {
			t.Errorf("status %+v", st.LastError)
		}
	})

	t.Run("broken template: file and registration untouched", func(t *testing.T) {
		reloads := l.reloads()
		tmpl := filepath.Join(l.dir, "broken.tmpl")
		writeFile(t, tmpl, "{{range .Trunks}}{{.Code}}:{{.NoSuchField}}\n{{end}}")
		targets := l.targets(true)
		targets[1].Template = tmpl
		broken, _, _ := testRenderer(t, Config{Targets: targets[1:2]}, -1)
		if err := broken.RenderOnce(ctx, reg.Snapshot()); err == nil || !strings.Contains(err.Error(), "NoSuchField") {
			t.Fatalf("broken template rendered: %v", err)
		}
		l.assertUntouched(t, uacreg, good, goodMtime, reloads)
	})

	t.Run("failing reload_cmd: file rolled back, Kamailio reloads the previous file", func(t *testing.T) {
		writeFile(t, filepath.Join(l.dir, "reload-fails"), "")
		l.writeProvider(t, 240)
		// The failing reload did load expires 240 into Kamailio; the rollback
		// reload only works if the restored file's mtime is newer still.
		waitFor(t, 10*time.Second, "the reload failure", func() bool {
			return testutil.ToFloat64(r.m.failures.WithLabelValues("uacreg", StageReload)) == 1
		})
		if got := readFile(t, uacreg); got != good {
			t.Fatalf("live file not rolled back:\n%s", got)
		}
		if seen := readFile(t, filepath.Join(l.dir, "seen-by-failed-reload")); !strings.Contains(seen, "expires: 240") {
			t.Fatalf("Kamailio did not load the rejected file before the rollback: %q", seen)
		}
		l.waitRegistered(t, 120)
		st := targetStatus(t, r, "uacreg")
		if st.LastError == nil || st.LastError.Stage != StageReload || !strings.Contains(st.LastError.Message, "previous file restored and reloaded") ||
			!strings.Contains(st.LastError.Output, "forced by the test") {
			t.Errorf("status %+v", st.LastError)
		}
	})

	t.Run("after the failures a change applies again", func(t *testing.T) {
		l.writeProvider(t, 300)
		l.waitRegistered(t, 300)
	})
	assertNoSecrets(t, r, logs, false, acmePassword, escapeDBText(acmePassword))

	t.Run("auth_ha1 instead of the password registers too", func(t *testing.T) {
		stopRenderer()
		targets := l.targets(true)
		targets[1].Vars = map[string]string{"auth": "ha1"}
		ha1, _, _ := testRenderer(t, Config{Targets: targets}, -1)
		before := l.sippCount("user=alice valid=true expires=300")
		if err := ha1.RenderOnce(ctx, reg.Snapshot()); err != nil {
			t.Fatal(err)
		}
		rows := parseDBText(t, readFile(t, uacreg))
		if rows[0][8] != "" || rows[0][9] != digestHA1("alice", "sipp.test", acmePassword) || rows[0][6] != "sipp.test" {
			t.Fatalf("row without HA1: realm %q, password set %v", rows[0][6], rows[0][8] != "")
		}
		waitFor(t, 15*time.Second, "a new REGISTER accepted with the HA1", func() bool {
			return l.sippCount("user=alice valid=true expires=300") > before
		})
		l.waitRegistered(t, 300)
		if info := l.regInfo(); info["auth_ha1"] != digestHA1("alice", "sipp.test", acmePassword) {
			t.Errorf("Kamailio did not load the HA1")
		}
	})
}

// sippCount counts SIPp log lines containing s.
func (l *lab) sippCount(s string) int {
	data, _ := os.ReadFile(filepath.Join(l.dir, "log", "sipp_actions.log"))
	return strings.Count(string(data), s)
}

func newLab(t *testing.T, kamcmd string) *lab {
	dir := t.TempDir()
	l := &lab{
		dir: dir, providers: filepath.Join(dir, "providers"), db: filepath.Join(dir, "db"),
		dslist: filepath.Join(dir, "dispatcher.list"), sock: filepath.Join(dir, "run", "kamailio_ctl"),
		sipPort: freeUDPPort(t, "127.0.0.1"), sippPort: freeUDPPort(t, "127.0.0.1"), kamcmd: kamcmd,
	}
	for _, d := range []string{l.providers, l.db, filepath.Join(dir, "run"), filepath.Join(dir, "log")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// targets are the three Kamailio targets; withCommands adds the check and
// reload commands (with test switches: the files check-fails and
// reload-fails make the next check or reload fail).
func (l *lab) targets(withCommands bool) []TargetConfig {
	ts := []TargetConfig{
		{Name: "version", Template: "kamailio/version", Output: filepath.Join(l.db, "version")},
		{Name: "uacreg", Template: "kamailio/uacreg", Output: filepath.Join(l.db, "uacreg")},
		{Name: "dispatcher", Template: "kamailio/dispatcher.list", Output: l.dslist},
	}
	if !withCommands {
		return ts
	}
	k := l.kamcmd + " -s unix:" + l.sock
	ts[1].CheckCmd = `if [ -e ` + l.dir + `/check-fails ]; then echo "check: refused by the test"; exit 1; fi; head -1 "$1" | grep -q '^id(int,auto) l_uuid(string)'`
	ts[1].ReloadCmd = `echo reload >> ` + l.dir + `/reloads; ` + k + ` uac.reg_reload; if [ -e ` + l.dir + `/reload-fails ]; then rm ` + l.dir + `/reload-fails; ` + k + ` uac.reg_info l_uuid acme | grep expires: > ` + l.dir + `/seen-by-failed-reload; echo "error: forced by the test"; fi`
	ts[1].ReloadFailRegex = `(?i)error`
	ts[2].ReloadCmd = k + " dispatcher.reload"
	ts[2].ReloadFailRegex = `(?i)error`
	return ts
}

func (l *lab) reloads() int { return lineCount(filepath.Join(l.dir, "reloads")) }

// writeProvider writes the provider file of the SIPp trunk.
func (l *lab) writeProvider(t *testing.T, expires int) {
	t.Helper()
	text := fmt.Sprintf("code: acme\nusername: alice\npwd: '%s'\ndomain: sipp.test\nproxyaddr: 127.0.0.1\nproxyport: %d\nexpires: %d\npingmode: options\npingtimeout: 5\n",
		acmePassword, l.sippPort, expires)
	tmp := filepath.Join(l.providers, ".acme.yaml.tmp")
	writeFile(t, tmp, text)
	if err := os.Rename(tmp, filepath.Join(l.providers, "acme.yaml")); err != nil {
		t.Fatal(err)
	}
}

func (l *lab) startSIPp(t *testing.T, sipp string) {
	t.Helper()
	for name, text := range map[string]string{
		"registrar.xml": readFile(t, filepath.Join("testdata", "kamailio", "registrar.xml")),
		"users.csv":     "SEQUENTIAL\nalice;" + acmePassword + "\nbob;secret2\n",
	} {
		writeFile(t, filepath.Join(l.dir, name), text)
	}
	l.startSIPpWith(t, sipp)
}

// startSIPpWith starts SIPp on the registrar.xml and users.csv in l.dir.
func (l *lab) startSIPpWith(t *testing.T, sipp string) {
	t.Helper()
	cmd := exec.Command(sipp, "-sf", "registrar.xml", "-inf", "users.csv", "-infindex", "users.csv", "0",
		"-i", "127.0.0.1", "-p", strconv.Itoa(l.sippPort), "-t", "u1", "-cp", strconv.Itoa(freeUDPPort(t, "0.0.0.0")),
		"-nostdin", "-trace_logs", "-log_file", "log/sipp_actions.log", "-trace_err", "-error_file", "log/sipp_err.log")
	startOwned(t, cmd, l.dir, filepath.Join(l.dir, "log", "sipp.out"))
}

func (l *lab) startKamailio(t *testing.T, kamailio string) {
	t.Helper()
	cfg := strings.NewReplacer("@SIP_PORT@", strconv.Itoa(l.sipPort), "@CTLSOCK@", l.sock, "@DBDIR@", l.db,
		"@DSLIST@", l.dslist).Replace(readFile(t, filepath.Join("testdata", "kamailio", "kamailio.cfg")))
	cfg = strings.Replace(cfg, "request_route {", l.cfgModules+"request_route {", 1) + l.cfgRoutes
	cfgPath := filepath.Join(l.dir, "kamailio.cfg")
	writeFile(t, cfgPath, cfg)
	run := filepath.Join(l.dir, "run")
	cmd := exec.Command(kamailio, "-f", cfgPath, "-P", filepath.Join(run, "kamailio.pid"), "-Y", run, "-w", run, "-E", "-DD")
	logPath := filepath.Join(l.dir, "log", "kamailio.log")
	startOwned(t, cmd, l.dir, logPath)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kamailio log tail:\n%s", tail(readFile(t, logPath), 3000))
		}
	})
	waitFor(t, 10*time.Second, "Kamailio's RPC socket", func() bool {
		_, err := l.kamErr("core.uptime")
		return err == nil
	})
}

// startOwned starts cmd in its own process group with output to logPath
// and stops the group when the test ends.
func startOwned(t *testing.T, cmd *exec.Cmd, dir, logPath string) {
	t.Helper()
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); out.Close(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
}

func (l *lab) kamErr(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, l.kamcmd, append([]string{"-s", "unix:" + l.sock}, args...)...).CombinedOutput()
	if err == nil && strings.HasPrefix(string(out), "error:") {
		err = fmt.Errorf("%s", strings.TrimSpace(string(out)))
	}
	return string(out), err
}

func (l *lab) kam(t *testing.T, args ...string) string {
	t.Helper()
	out, err := l.kamErr(args...)
	if err != nil {
		t.Fatalf("kamcmd %v: %v", args, err)
	}
	return out
}

// regInfo returns uac.reg_info of the acme record (nil when missing),
// without the password.
func (l *lab) regInfo() map[string]string {
	out, err := l.kamErr("uac.reg_info", "l_uuid", "acme")
	if err != nil {
		return nil
	}
	info := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ": "); ok && k != "auth_password" {
			info[k] = v
		}
	}
	return info
}

// waitRegistered waits until Kamailio holds the record with these
// expires, registered (flags 20) with the rendered credentials.
func (l *lab) waitRegistered(t *testing.T, expires int) {
	t.Helper()
	var info map[string]string
	waitFor(t, 15*time.Second, fmt.Sprintf("acme registered with expires %d", expires), func() bool {
		info = l.regInfo()
		return info["expires"] == strconv.Itoa(expires) && info["flags"] == "20"
	})
	want := map[string]string{"r_username": "alice", "r_domain": "sipp.test", "auth_username": "alice",
		"auth_proxy": fmt.Sprintf("sip:127.0.0.1:%d", l.sippPort)}
	for k, v := range want {
		if info[k] != v {
			t.Errorf("reg_info %s = %q, want %q", k, info[k], v)
		}
	}
}

func (l *lab) waitSIPpSaw(t *testing.T, line string) {
	t.Helper()
	waitFor(t, 10*time.Second, "SIPp to log "+line, func() bool {
		data, _ := os.ReadFile(filepath.Join(l.dir, "log", "sipp_actions.log"))
		return strings.Contains(string(data), line)
	})
}

// assertUntouched checks the live file (bytes, mtime), that no reload ran
// and that Kamailio still holds the registration of the good file.
func (l *lab) assertUntouched(t *testing.T, path, good string, mtime time.Time, reloads int) {
	t.Helper()
	if got := readFile(t, path); got != good {
		t.Errorf("live file changed:\n%s", got)
	}
	if _, m := statIno(t, path); !m.Equal(mtime) {
		t.Errorf("live file mtime changed: %v → %v", mtime, m)
	}
	if n := l.reloads(); n != reloads {
		t.Errorf("%d reloads ran", n-reloads)
	}
	if info := l.regInfo(); info["expires"] != "120" || info["flags"] != "20" {
		t.Errorf("registration changed: expires %s flags %s", info["expires"], info["flags"])
	}
}

// freeUDPPort picks a UDP port that is free on host right now.
func freeUDPPort(t *testing.T, host string) int {
	t.Helper()
	c, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}
