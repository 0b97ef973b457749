package main

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// demoRun is a daemon started like `make run`: the example config and
// files, copied to a temporary directory with the demo provider moved to a
// free port, served through run().
type demoRun struct {
	*daemonRun
	base, token, dir string
	started          time.Time
}

// startDemoRun copies examples/ into a temp dir (the example config's paths
// are relative to the working directory), moves the demo provider from
// port 5090 to a free port, and runs `trunkd serve --config
// examples/trunkd.yaml` there.
func startDemoRun(t *testing.T) *demoRun {
	t.Helper()
	return startDemoRunOn(t, freeUDPTCPPort)
}

// startDemoRunOn is startDemoRun with the port picker injected. A port
// found free can be taken by another process before the daemon binds it
// (the suite runs beside other packages' tests, which bind and connect
// all the time): that start fails with "address already in use", and the
// run is retried on a new port. This was the cause of "trunkd serve
// exited 1" in the make-run tests under load.
func startDemoRunOn(t *testing.T, pickPort func(*testing.T) int) *demoRun {
	t.Helper()
	examples, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	for attempt := 1; ; attempt++ {
		port := strconv.Itoa(pickPort(t))
		copyExamples(t, examples, dir, port)
		d, err := startDemoServe(t, dir)
		if err == nil {
			return d
		}
		if attempt < 5 && errors.Is(err, errEndedEarly) && strings.Contains(err.Error(), "address already in use") {
			t.Logf("demo provider port %s was taken before the daemon bound it; retrying on another", port)
			continue
		}
		t.Fatal(err)
	}
}

// copyExamples copies what `make run` reads from the examples directory
// into dir/examples, with the demo provider's port 5090 replaced by port.
func copyExamples(t *testing.T, examples, dir, port string) {
	t.Helper()
	copyTree(t, filepath.Join(examples, "providers"), filepath.Join(dir, "examples/providers"), port)
	for _, f := range []string{"trunkd.yaml", "tokens.yaml", "fakeprovider-users.yaml"} {
		copyFile(t, filepath.Join(examples, f), filepath.Join(dir, "examples", f), port)
	}
}

// startDemoServe runs serve on the copied example config in dir.
func startDemoServe(t *testing.T, dir string) (*demoRun, error) {
	t.Helper()
	d := &demoRun{dir: dir, started: time.Now()}
	args := []string{"serve", "--config", "examples/trunkd.yaml", "--listen", "127.0.0.1:0"}
	run, err := startDaemon(t, args, func(line string) bool {
		if tok, ok := strings.CutPrefix(line, "demo admin token for this run (printed once): "); ok {
			d.token = tok
		}
		if addr, ok := strings.CutPrefix(line, "trunkd listening on "); ok {
			d.base = addr
		}
		return d.base != ""
	})
	if err != nil {
		return nil, err
	}
	d.daemonRun = run
	if d.token == "" {
		t.Fatal("serve did not print the demo admin token before its address")
	}
	return d, nil
}

// TestMakeRunShowsEveryPart: the demo trunk gets registered and reachable
// in /metrics, the engine files are rendered under out/, and the printed
// admin token works (and sees pwd). How long the trunk took is logged, not
// asserted: on an idle machine it is well under a second.
func TestMakeRunShowsEveryPart(t *testing.T) {
	d := startDemoRun(t)
	var m string
	waitUntil(t, "demo-local registered and reachable in /metrics", func() bool {
		_, m = get(t, d.base+"/metrics")
		return strings.Contains(m, `trunkd_provider_registered{code="demo-local"} 1`) &&
			strings.Contains(m, `trunkd_provider_reachable{code="demo-local"} 1`)
	})
	t.Logf("demo trunk registered and reachable %v after start", time.Since(d.started).Round(time.Millisecond))
	// The prober and the render targets work independently: a file may be
	// written after the trunk registered.
	for _, f := range []string{"out/kamailio/uacreg", "out/kamailio/dispatcher.list", "out/asterisk/pjsip_trunks.conf", "out/freeswitch/trunkd_gateways.xml"} {
		waitUntil(t, f+" rendered with the demo trunk", func() bool {
			data, _ := os.ReadFile(filepath.Join(d.dir, f))
			return strings.Contains(string(data), "demo-local")
		})
	}
	req, _ := http.NewRequest("GET", d.base+"/rest/v1/uc/providers/31ac976f-3e94-5560-b73c-f837ce392ee6", nil)
	req.Header.Set("Authorization", "Bearer "+d.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `"pwd": "alice-secret"`) {
		t.Errorf("admin token: %d %s", res.StatusCode, body)
	}
}

// TestDemoRunRetriesTakenPort: when the port picked for the demo provider
// is taken before the daemon binds it, the harness starts again on another
// port instead of failing with "trunkd serve exited 1".
func TestDemoRunRetriesTakenPort(t *testing.T) {
	taken := holdUDPTCPPort(t)
	picks := 0
	d := startDemoRunOn(t, func(t *testing.T) int {
		picks++
		if picks == 1 {
			return taken
		}
		return freeUDPTCPPort(t)
	})
	if picks != 2 || d.base == "" {
		t.Fatalf("%d ports picked, base %q; want a retry after the taken port", picks, d.base)
	}
}

// holdUDPTCPPort binds a port on 127.0.0.1 for UDP and TCP until the test
// ends and returns it.
func holdUDPTCPPort(t *testing.T) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			u.Close()
			continue
		}
		t.Cleanup(func() { u.Close(); l.Close() })
		return port
	}
	t.Fatal("no port free for both UDP and TCP")
	return 0
}

// freeUDPTCPPort finds a port free for both UDP and TCP on 127.0.0.1.
func freeUDPTCPPort(t *testing.T) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		u.Close()
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no port free for both UDP and TCP")
	return 0
}

// copyFile copies src to dst, replacing the demo port 5090 by port.
func copyFile(t *testing.T, src, dst, port string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, []byte(strings.ReplaceAll(string(data), "5090", port)), 0o600); err != nil {
		t.Fatal(err)
	}
}

func copyTree(t *testing.T, src, dst, port string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			copyFile(t, filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()), port)
		}
	}
}
