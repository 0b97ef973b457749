package render

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trunkd/trunkd/registry"
)

// TestKamailioControlFigures measures the kamailio preset's control
// channel against the alternatives Kamailio offers for the same RPC
// (uac.reg_refresh of one trunk, and of an unknown one): the preset's
// way (sh -c running kamcmd over the ctl module's binrpc unix socket, as
// runCommand runs every action), and JSON-RPC 2.0 (jsonrpcs module) over
// its unix datagram socket and over HTTP (xhttp), both from Go without a
// process. It prints p50, p90 and max per channel and how each reports
// an RPC error and an engine that is down.
// Run: TRUNKD_FIGURES=1 go test -run TestKamailioControlFigures -v ./render/
func TestKamailioControlFigures(t *testing.T) {
	if os.Getenv("TRUNKD_FIGURES") == "" {
		t.Skip("set TRUNKD_FIGURES=1: a figures test")
	}
	kamailio, kamcmd := need(t, "kamailio"), need(t, "kamcmd")
	l := newLab(t, kamcmd)
	dgram := filepath.Join(l.dir, "run", "kamailio_rpc.sock")
	httpPort := freeTCPPort(t)
	l.cfgModules = fmt.Sprintf(`listen=tcp:127.0.0.1:%d
tcp_accept_no_cl=yes
loadmodule "xhttp.so"
loadmodule "jsonrpcs.so"
modparam("jsonrpcs", "transport", 5)
modparam("jsonrpcs", "pretty_format", 0)
modparam("jsonrpcs", "dgram_socket", "%s")
`, httpPort, dgram)
	l.cfgRoutes = "\nevent_route[xhttp:request] { jsonrpc_dispatch(); exit; }\n"
	writeFile(t, filepath.Join(l.providers, "acme.yaml"), fmt.Sprintf(
		"code: acme\nusername: alice\npwd: secret\ndomain: sipp.test\nproxyaddr: 127.0.0.1\nproxyport: %d\nexpires: 600\n", l.sippPort))
	reg, err := registry.Open(registry.Options{Dir: l.providers, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	boot, _, _ := testRenderer(t, Config{Targets: l.targets(false)}, -1)
	if err := boot.RenderOnce(t.Context(), reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	l.startKamailio(t, kamailio)
	waitFor(t, 10*time.Second, "the jsonrpcs datagram socket", func() bool { _, err := os.Stat(dgram); return err == nil })

	kam := func(code string) (string, error) {
		return runCommand(t.Context(), fmt.Sprintf("%s -s unix:%s uac.reg_refresh %s", kamcmd, l.sock, code), 5*time.Second, nil)
	}
	dg := func(code string) (string, error) { return jsonDgram(dgram, "uac.reg_refresh", code) }
	client := &http.Client{Timeout: 5 * time.Second}
	url := fmt.Sprintf("http://127.0.0.1:%d/RPC", httpPort)
	ht := func(code string) (string, error) { return jsonHTTP(client, url, "uac.reg_refresh", code) }
	const calls = 200
	for _, ch := range []struct {
		name string
		call func(string) (string, error)
	}{{"sh -c kamcmd (binrpc, unix stream)", kam}, {"JSON-RPC, unix datagram (Go)", dg}, {"JSON-RPC, HTTP keep-alive (Go)", ht}} {
		ds := make([]time.Duration, 0, calls)
		for range calls {
			start := time.Now()
			if out, err := ch.call("acme"); err != nil || strings.Contains(out, "error") {
				t.Fatalf("%s: %q %v", ch.name, out, err)
			}
			ds = append(ds, time.Since(start))
		}
		out, err := ch.call("nope")
		t.Logf("%-36s p50 %8v p90 %8v max %8v over %d calls; unknown record: %q (err %v)",
			ch.name, pctMicro(ds, 50), pctMicro(ds, 90), pctMicro(ds, 100), calls, strings.TrimSpace(out), err)
	}
	_, kerr := runCommand(t.Context(), kamcmd+" -s unix:"+l.sock+".gone uac.reg_refresh acme", 5*time.Second, nil)
	_, derr := jsonDgram(dgram+".gone", "uac.reg_refresh", "acme")
	_, herr := jsonHTTP(client, fmt.Sprintf("http://127.0.0.1:%d/RPC", freeTCPPort(t)), "uac.reg_refresh", "acme")
	t.Logf("engine down: kamcmd: %v; datagram: %v; HTTP: %v", kerr, derr, herr)
}

// pctMicro is pct at 10 µs resolution.
func pctMicro(ds []time.Duration, p int) time.Duration {
	s := slices.Sorted(slices.Values(ds))
	return s[max((p*len(s)+99)/100-1, 0)].Round(10 * time.Microsecond)
}

// jsonRequest is a JSON-RPC 2.0 request with positional parameters.
func jsonRequest(method string, params ...string) []byte {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": method, "params": params, "id": 1})
	return b
}

// jsonDgram sends one JSON-RPC request to Kamailio's jsonrpcs unix
// datagram socket from a socket bound to a temporary path (the reply
// goes to the sender's address) and returns the reply.
func jsonDgram(sock, method string, params ...string) (string, error) {
	local := filepath.Join(os.TempDir(), "trunkd-rpc-"+strconv.Itoa(os.Getpid())+"-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: local, Net: "unixgram"})
	if err != nil {
		return "", err
	}
	defer os.Remove(local)
	defer c.Close()
	if _, err := c.WriteToUnix(jsonRequest(method, params...), &net.UnixAddr{Name: sock, Net: "unixgram"}); err != nil {
		return "", err
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 65536)
	n, err := c.Read(buf)
	return string(buf[:n]), err
}

// jsonHTTP posts one JSON-RPC request to Kamailio's xhttp listener.
func jsonHTTP(client *http.Client, url, method string, params ...string) (string, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(jsonRequest(method, params...)))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	return b.String(), err
}

// freeTCPPort returns a loopback TCP port that was free a moment ago.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestKamailioRefreshCostFigures measures what uac.reg_refresh costs
// Kamailio 5.6's db_text after trunkd replaced the uacreg table file
// (the first query after a change re-reads the whole file), at 1,000 and
// 10,000 rows, against a refresh of an unchanged file. uac's timer is
// off (reg_active 0), so nothing registers.
// Run: TRUNKD_FIGURES=1 go test -run TestKamailioRefreshCostFigures -v ./render/
func TestKamailioRefreshCostFigures(t *testing.T) {
	if os.Getenv("TRUNKD_FIGURES") == "" {
		t.Skip("set TRUNKD_FIGURES=1: a figures test")
	}
	kamailio, kamcmd := need(t, "kamailio"), need(t, "kamcmd")
	for _, n := range []int{1000, 10000} {
		l := newLab(t, kamcmd)
		l.cfgModules = "modparam(\"uac\", \"reg_active\", 0)\n"
		writeFile(t, l.dslist, "")
		for i := range n {
			writeFile(t, filepath.Join(l.providers, fmt.Sprintf("t%05d.yaml", i)), fmt.Sprintf(
				"code: t%05d\nusername: u%05d\npwd: pw%05d\ndomain: sipp.test\nproxyaddr: 127.0.0.1\nproxyport: %d\nexpires: 3600\n", i, i, i, l.sippPort))
		}
		reg, err := registry.Open(registry.Options{Dir: l.providers, Logger: discardLogger()})
		if err != nil {
			t.Fatal(err)
		}
		r, _, _ := testRenderer(t, Config{Targets: l.targets(false)[:2]}, -1)
		if err := r.RenderOnce(t.Context(), reg.Snapshot()); err != nil {
			t.Fatal(err)
		}
		l.startKamailio(t, kamailio)
		refresh := func(code string) time.Duration {
			start := time.Now()
			if out, err := runCommand(t.Context(), fmt.Sprintf("%s -s unix:%s uac.reg_refresh %s", kamcmd, l.sock, code), time.Minute, nil); err != nil || strings.HasPrefix(out, "error") {
				t.Fatalf("uac.reg_refresh %s: %q %v", code, out, err)
			}
			return time.Since(start)
		}
		var changed, same []time.Duration
		for i := range 10 {
			code := fmt.Sprintf("t%05d", i)
			writeFile(t, filepath.Join(l.providers, code+".yaml"), fmt.Sprintf(
				"code: %s\nusername: u%05d\npwd: new%05d\ndomain: sipp.test\nproxyaddr: 127.0.0.1\nproxyport: %d\nexpires: 3600\n", code, i, i, l.sippPort))
			if err := reg.Reload(); err != nil {
				t.Fatal(err)
			}
			if err := r.RenderOnce(t.Context(), reg.Snapshot()); err != nil {
				t.Fatal(err)
			}
			changed = append(changed, refresh(code))
			same = append(same, refresh(code))
		}
		t.Logf("%5d rows: uac.reg_refresh after the table file changed p50 %v max %v; file unchanged p50 %v max %v (10 each, sh -c kamcmd, loaded machine)",
			n, pct(changed, 50), pct(changed, 100), pct(same, 50), pct(same, 100))
	}
}
