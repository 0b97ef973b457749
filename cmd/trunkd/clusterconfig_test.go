package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The cluster section: defaults, and every bad value or unknown key
// refused with the key's name.
func TestClusterConfig(t *testing.T) {
	load := func(text string) (*config, error) {
		path := filepath.Join(t.TempDir(), "trunkd.yaml")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return loadConfig(path)
	}
	cfg, err := load("providers_dir: x\n")
	if err != nil || cfg.Cluster != nil {
		t.Fatalf("no cluster section: %+v, %v; want nil (no cluster code runs)", cfg.Cluster, err)
	}
	cfg, err = load("cluster:\n  node: edge-1\n  etcd:\n    endpoints: ['http://127.0.0.1:2379', 'https://etcd-2:2379']\n")
	if err != nil {
		t.Fatal(err)
	}
	if c := cfg.cluster(); c.Check() != nil || c.Node != "edge-1" || c.LeaseTTL != 3*time.Second || c.FenceMargin != time.Second || c.Prefix != "/trunkd" || c.DialTimeout != 2*time.Second {
		t.Errorf("defaults: %+v", c)
	}
	host, _ := os.Hostname()
	if cfg, err = load("cluster:\n  etcd:\n    endpoints: ['http://127.0.0.1:2379']\n"); err != nil || cfg.cluster().Node != host {
		t.Errorf("node defaults to the host name %q: %+v, %v", host, cfg, err)
	}
	for _, c := range []struct{ text, want string }{
		{"cluster:\n  nod: a\n", `:2: cluster.nod: unknown key (did you mean "node"?)`},
		{"cluster:\n  etcd:\n    endpoint: [a]\n", `:3: cluster.etcd.endpoint: unknown key (did you mean "endpoints"?)`},
		{"cluster:\n  node: a\n", "cluster.etcd.endpoints: missing: at least one http(s)://host:port"},
		{"cluster:\n  node: 'a b'\n  etcd: {endpoints: ['http://a:1']}\n", `cluster.node: "a b": no '/' or white space`},
		{"cluster:\n  node: a\n  etcd: {endpoints: ['etcd:2379']}\n", `cluster.etcd.endpoints[0]: "etcd:2379": want http://host:port or https://host:port`},
		{"cluster:\n  node: a\n  etcd: {endpoints: ['unix://x:1']}\n", `cluster.etcd.endpoints[0]: "unix://x:1": want http://host:port`},
		{"cluster:\n  node: a\n  etcd: {endpoints: ['http://a:1'], prefix: /}\n", `cluster.etcd.prefix: must not be the root`},
		{"cluster:\n  node: a\n  lease_ttl: 1500ms\n  etcd: {endpoints: ['http://a:1']}\n", "cluster.lease_ttl: 1.5s: must be a whole number of seconds, at least 2s"},
		{"cluster:\n  node: a\n  lease_ttl: 1s\n  etcd: {endpoints: ['http://a:1']}\n", "cluster.lease_ttl: 1s: must be a whole number of seconds, at least 2s"},
		{"cluster:\n  node: a\n  fence_margin: 2s\n  etcd: {endpoints: ['http://a:1']}\n", "cluster.fence_margin: 2s: must be positive and below half of lease_ttl (3s)"},
		{"cluster:\n  node: a\n  fence_margin: -1s\n  etcd: {endpoints: ['http://a:1']}\n", "cluster.fence_margin: -1s: must be positive"},
		{"cluster:\n  node: a\n  lease_ttl: soon\n  etcd: {endpoints: ['http://a:1']}\n", `:3: cluster.lease_ttl: want a duration such as 3s or 500ms, got "soon"`},
		{"cluster:\n  node: a\n  etcd: {endpoints: ['http://a:1'], cert_file: c.pem}\n", "cluster.etcd.cert_file: cert_file and key_file go together"},
		{"cluster:\n  node: a\n  etcd: {endpoints: ['http://a:1'], ca_file: /nonexistent/ca.pem}\n", "cluster.etcd.ca_file: stat /nonexistent/ca.pem: no such file or directory"},
	} {
		_, err := load(c.text)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want …%s", c.text, err, c.want)
		}
	}
}

// In a cluster, a render target that writes registering parts needs a
// fence action (engine: or fence_cmd): refused at load, naming the target
// and the key. Targets without registering parts, and every target of a
// single node, need none.
func TestClusterConfigFenceRequired(t *testing.T) {
	dir := t.TempDir()
	custom := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	regTmpl := custom("reg.tmpl", "{{range $t := .Trunks}}{{if $t.Registers}}{{$t.Code}}{{end}}{{end}}\n")
	routeTmpl := custom("route.tmpl", "{{range .Trunks}}{{.Code}} {{.NextHost}}\n{{end}}")
	const clusterSection = "cluster:\n  node: a\n  etcd: {endpoints: ['http://127.0.0.1:1']}\n"
	const routing = "    - {name: disp, template: kamailio/dispatcher.list, output: /x/d}\n"
	for _, c := range []struct {
		name, text, want string
	}{
		{"built-in uacreg, no fence", clusterSection + "render:\n  targets:\n" + routing +
			"    - {name: reg, template: kamailio/uacreg, output: /x/u}\n",
			`render.targets[1].fence_cmd: target "reg" renders registering parts (template kamailio/uacreg) but has no fence action`},
		{"operator template with .Registers, no fence", clusterSection + "render:\n  targets:\n" +
			"    - {name: mine, template: " + regTmpl + ", output: /x/m}\n",
			`render.targets[0].fence_cmd: target "mine" renders registering parts`},
		{"unreadable template", clusterSection + "render:\n  targets:\n" +
			"    - {name: gone, template: " + filepath.Join(dir, "missing.tmpl") + ", output: /x/g}\n",
			`render.targets[0] (gone): template:`},
		{"engine preset", clusterSection + "render:\n  targets:\n" + routing +
			"    - {name: reg, template: kamailio/uacreg, output: /x/u, engine: kamailio}\n", ""},
		{"fence_cmd", clusterSection + "render:\n  targets:\n" +
			"    - {name: reg, template: asterisk/pjsip.conf, output: /x/p, fence_cmd: 'true', unfence_cmd: 'true'}\n", ""},
		{"routing parts only", clusterSection + "render:\n  targets:\n" + routing +
			"    - {name: route, template: " + routeTmpl + ", output: /x/r}\n", ""},
		{"no cluster", "render:\n  targets:\n    - {name: reg, template: freeswitch/gateways.xml, output: /x/f}\n", ""},
	} {
		path := filepath.Join(t.TempDir(), "trunkd.yaml")
		if err := os.WriteFile(path, []byte(c.text), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := loadConfig(path)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v, want accepted", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: got %v, want …%s", c.name, err, c.want)
		}
	}
}
