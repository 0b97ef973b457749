package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// trunkd fence runs each target's fence_cmd once; without a cluster:
// section it does nothing; a failing command exits 1 naming its target.
func TestFenceCommand(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "fenced")
	write := func(text string) string {
		p := filepath.Join(dir, "trunkd.yaml")
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	targets := "render:\n  targets:\n    - name: kam\n      template: kamailio/uacreg\n      output: " + filepath.Join(dir, "uacreg") +
		"\n      fence_cmd: echo $TRUNKD_ACTION >> " + marker + "\n      unfence_cmd: 'true'\n" +
		"    - name: plain\n      template: kamailio/dispatcher.list\n      output: " + filepath.Join(dir, "dispatcher") + "\n"
	clusterSec := "cluster:\n  node: n1\n  etcd:\n    endpoints: ['http://127.0.0.1:1']\n"
	run1 := func(cfg string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{"fence", "--config", write(cfg)}, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	if code, out, _ := run1(targets); code != 0 || !strings.Contains(out, "no cluster: section; nothing to fence") {
		t.Errorf("without cluster: exit %d, %q", code, out)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("fence_cmd ran without a cluster: section")
	}
	code, out, errOut := run1(targets + clusterSec)
	if code != 0 || out != "kam\tfenced\nplain\tno fence action\n" {
		t.Errorf("fence: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	if b, _ := os.ReadFile(marker); string(b) != "fence\n" {
		t.Errorf("fence_cmd ran %q, want once with TRUNKD_ACTION=fence", b)
	}
	failing := strings.Replace(targets, "echo $TRUNKD_ACTION >> "+marker, "exit 3", 1)
	if code, _, errOut := run1(failing + clusterSec); code != 1 || !strings.Contains(errOut, "kam") {
		t.Errorf("failing fence_cmd: exit %d, stderr %q", code, errOut)
	}
	if code, _, _ := run1("cluster: [\n"); code != 2 {
		t.Errorf("bad config: exit %d, want 2", code)
	}
}
