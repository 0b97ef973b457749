package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// checkoutTemplates are the four engine templates a checkout must reach.
var checkoutTemplates = []string{"kamailio/uacreg", "kamailio/dispatcher.list", "asterisk/pjsip.conf", "freeswitch/gateways.xml"}

// TestGitCheckoutReloads switches 300 provider files with a real `git
// checkout` in the providers directory of the running daemon and counts
// the reload commands of each engine template's target: at most two per
// target for one checkout, and the last one shows the checked-out state
// (issue 16). Each reload_cmd copies the live file aside, so the test sees
// what each reload would have read.
//
// When is the checkout over? After the right state arrived, a sentinel
// file is saved; every reload caused by the checkout comes before the
// reload that shows the sentinel (or is that reload), so the reloads
// counted are those after the checkout without the sentinel. No wait
// depends on how fast the machine is.
func TestGitCheckoutReloads(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("git is required in CI (apt-get install git)")
		}
		t.Skip("git not installed")
	}
	c := newCheckoutRig(t)
	c.waitState(t, "a", "")
	for i, branch := range []string{"b", "a"} {
		start := time.Now()
		c.git(t, "checkout", "-q", branch)
		c.waitState(t, branch, "")
		sentinel := fmt.Sprintf("sentinel%d", i)
		mustOK(t, os.WriteFile(filepath.Join(c.providers, sentinel+".yaml"),
			fmt.Appendf(nil, "code: %s\ndomain: %s.example.net\nreg: 1\n", sentinel, sentinel), 0o600))
		c.waitState(t, branch, sentinel)
		for j, tg := range c.targets {
			n := c.reloadsWithout(tg, start, sentinel)
			t.Logf("checkout %d (to %s): %s: %d reloads for 300 switched files", i+1, branch, checkoutTemplates[j], n)
			if n > 2 {
				t.Errorf("checkout %d: %s reloaded %d times, want at most 2", i+1, checkoutTemplates[j], n)
			}
		}
	}
}

// checkoutRig is the daemon with its git providers directory and the
// reload copies of each target.
type checkoutRig struct {
	providers, reloads string
	targets            []string
}

// reloadCopy is one reload: when it started and what it read.
type reloadCopy struct {
	at   time.Time
	data string
}

func newCheckoutRig(t *testing.T) *checkoutRig {
	dir := t.TempDir()
	c := &checkoutRig{providers: filepath.Join(dir, "providers"), reloads: filepath.Join(dir, "reloads")}
	mustOK(t, os.Mkdir(c.providers, 0o755))
	mustOK(t, os.Mkdir(c.reloads, 0o755))
	c.git(t, "init", "-q", "-b", "a")
	c.writeProviders(t, "a")
	c.git(t, "add", ".")
	c.git(t, "commit", "-q", "-m", "a")
	c.git(t, "checkout", "-q", "-b", "b")
	c.writeProviders(t, "b")
	c.git(t, "commit", "-q", "-a", "-m", "b: every provider's domain changes")
	c.git(t, "checkout", "-q", "a")
	cfg := fmt.Sprintf("providers_dir: %s\nprobe:\n  enabled: false\nlog:\n  level: warn\nrender:\n  targets:\n", c.providers)
	for i, tmpl := range checkoutTemplates {
		name := fmt.Sprintf("t%d", i)
		out := filepath.Join(dir, name+".out")
		c.targets = append(c.targets, name)
		cfg += fmt.Sprintf("    - name: %s\n      template: %s\n      output: %s\n"+
			"      reload_cmd: t=$(date +%%s%%N); cp %s %s/.c-%s-$t && mv %[5]s/.c-%[6]s-$t %[5]s/%[6]s-$t\n",
			name, tmpl, out, out, c.reloads, name)
	}
	startServe(t, cfg)
	return c
}

func (c *checkoutRig) git(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", c.providers, "-c", "user.name=t", "-c", "user.email=t@example.net"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// writeProviders writes the 300 providers of a branch: provider i has the
// domain sip<i>-<branch>.example.net, so every file differs between them.
func (c *checkoutRig) writeProviders(t *testing.T, branch string) {
	for i := 0; i < 300; i++ {
		mustOK(t, os.WriteFile(filepath.Join(c.providers, fmt.Sprintf("co-%03d.yaml", i)),
			fmt.Appendf(nil, "code: co-%03d\ndomain: sip%d-%s.example.net\nreg: 1\n", i, i, branch), 0o600))
	}
}

// copies returns the reload copies of target tg, oldest first.
func (c *checkoutRig) copies(tg string) []reloadCopy {
	entries, _ := os.ReadDir(c.reloads)
	var out []reloadCopy
	for _, e := range entries {
		ns, ok := strings.CutPrefix(e.Name(), tg+"-")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(ns, 10, 64)
		data, err := os.ReadFile(filepath.Join(c.reloads, e.Name()))
		if err == nil {
			out = append(out, reloadCopy{at: time.Unix(0, n), data: string(data)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	return out
}

var checkoutDomainRe = regexp.MustCompile(`sip(\d+)-([ab])\.example\.net`)

// shows reports whether a reload read branch's state: all 300 domains of
// the branch, none of the other, and the sentinel when one is given.
func shows(data, branch, sentinel string) bool {
	seen := map[string]bool{}
	for _, m := range checkoutDomainRe.FindAllStringSubmatch(data, -1) {
		if m[2] != branch {
			return false
		}
		seen[m[1]] = true
	}
	return len(seen) == 300 && (sentinel == "" || strings.Contains(data, sentinel+".example.net"))
}

// waitState waits until the last reload of every target shows branch (and
// the sentinel when given).
func (c *checkoutRig) waitState(t *testing.T, branch, sentinel string) {
	t.Helper()
	waitUntil(t, "every target reloaded with branch "+branch+" "+sentinel, func() bool {
		for _, tg := range c.targets {
			cs := c.copies(tg)
			if len(cs) == 0 || !shows(cs[len(cs)-1].data, branch, sentinel) {
				return false
			}
		}
		return true
	})
}

// reloadsWithout counts the reloads of tg started after start that do not
// show the sentinel.
func (c *checkoutRig) reloadsWithout(tg string, start time.Time, sentinel string) int {
	n := 0
	for _, rc := range c.copies(tg) {
		if rc.at.After(start) && !strings.Contains(rc.data, sentinel+".example.net") {
			n++
		}
	}
	return n
}
