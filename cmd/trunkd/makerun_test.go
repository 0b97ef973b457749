package main

import (
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
	base, token, dir string
	started          time.Time
}

// startDemoRun copies examples/ into a temp dir (the example config's paths
// are relative to the working directory), rewrites port 5090, and runs
// `trunkd serve --config examples/trunkd.yaml` there.
func startDemoRun(t *testing.T) *demoRun {
	t.Helper()
	dir := t.TempDir()
	port := strconv.Itoa(freeUDPTCPPort(t))
	copyTree(t, "../../examples/providers", filepath.Join(dir, "examples/providers"), port)
	for _, f := range []string{"trunkd.yaml", "tokens.yaml", "fakeprovider-users.yaml"} {
		copyFile(t, filepath.Join("../../examples", f), filepath.Join(dir, "examples", f), port)
	}
	t.Chdir(dir)
	d := &demoRun{dir: dir, started: time.Now()}
	args := []string{"serve", "--config", "examples/trunkd.yaml", "--listen", "127.0.0.1:0"}
	serveInBackground(t, args, func(line string) bool {
		if tok, ok := strings.CutPrefix(line, "demo admin token for this run (printed once): "); ok {
			d.token = tok
		}
		if addr, ok := strings.CutPrefix(line, "trunkd listening on "); ok {
			d.base = addr
		}
		return d.base != ""
	})
	if d.token == "" {
		t.Fatal("serve did not print the demo admin token before its address")
	}
	return d
}

// TestMakeRunShowsEveryPart: within 10 s of start the demo trunk is
// registered and reachable in /metrics, the engine files are rendered under
// out/, and the printed admin token works (and sees pwd).
func TestMakeRunShowsEveryPart(t *testing.T) {
	d := startDemoRun(t)
	deadline := d.started.Add(10 * time.Second)
	for {
		_, m := get(t, d.base+"/metrics")
		if strings.Contains(m, `trunkd_provider_registered{code="demo-local"} 1`) &&
			strings.Contains(m, `trunkd_provider_reachable{code="demo-local"} 1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo-local not registered and reachable within 10 s:\n%s", grepLines(m, "demo-local"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("demo trunk registered and reachable %v after start", time.Since(d.started).Round(time.Millisecond))
	for _, f := range []string{"out/kamailio/uacreg", "out/kamailio/dispatcher.list", "out/asterisk/pjsip_trunks.conf", "out/freeswitch/trunkd_gateways.xml"} {
		data, err := os.ReadFile(filepath.Join(d.dir, f))
		if err != nil || !strings.Contains(string(data), "demo-local") {
			t.Errorf("%s not rendered with the demo trunk: %v", f, err)
		}
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

func grepLines(text, word string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
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
