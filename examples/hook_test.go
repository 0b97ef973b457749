package examples

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// hookRepo is a scratch git repository with the example pre-commit hook.
type hookRepo struct {
	t   *testing.T
	dir string
	env []string
}

func newHookRepo(t *testing.T, trunkd string) *hookRepo {
	t.Helper()
	gitPath := needTool(t, "git")
	root := t.TempDir()
	home := filepath.Join(root, "home")
	dir := filepath.Join(root, "repo")
	for _, d := range []string{home, filepath.Join(dir, "providers"), filepath.Join(dir, "docs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(),
		"HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+filepath.Join(home, ".gitconfig"),
		"GIT_AUTHOR_NAME=test", "GIT_AUTHOR_EMAIL=test@example.invalid",
		"GIT_COMMITTER_NAME=test", "GIT_COMMITTER_EMAIL=test@example.invalid",
		"TRUNKD="+trunkd, "PATH="+filepath.Dir(gitPath)+string(os.PathListSeparator)+os.Getenv("PATH"))
	r := &hookRepo{t: t, dir: dir, env: env}
	r.git("init", "-q")
	r.git("config", "commit.gpgsign", "false")
	hook := readFile(t, filepath.Join("git", "pre-commit"))
	if err := os.WriteFile(filepath.Join(dir, ".git", "hooks", "pre-commit"), hook, 0o755); err != nil {
		t.Fatal(err)
	}
	return r
}

// run runs git and returns its combined output and whether it succeeded.
func (r *hookRepo) run(args ...string) (string, bool) {
	cmd := exec.Command("git", args...)
	cmd.Dir, cmd.Env = r.dir, r.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err == nil
}

func (r *hookRepo) git(args ...string) string {
	r.t.Helper()
	out, ok := r.run(args...)
	if !ok {
		r.t.Fatalf("git %v failed:\n%s", args, out)
	}
	return out
}

func (r *hookRepo) write(name, content string) {
	r.t.Helper()
	if err := os.MkdirAll(filepath.Dir(filepath.Join(r.dir, name)), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.dir, name), []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func (r *hookRepo) commits() int {
	r.t.Helper()
	out, ok := r.run("rev-list", "--count", "HEAD")
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		r.t.Fatalf("git rev-list --count: %q: %v", out, err)
	}
	return n
}

const (
	goodProvider = "code: acme\ndomain: sip.acme.example\nusername: \"1001\"\npwd: s3cret\n"
	// line 3 is the broken one
	badProvider = "code: broken\ndomain: sip.broken.example\ntransport: sctp\npwd: s3cret\n"
)

// TestPreCommitHook runs the example hook in a scratch repository: a valid
// provider commits, an invalid one is refused with file:line: field, the
// staged content (not the working tree) is what is checked, duplicates
// across files are refused, and commits outside providers/ are not checked.
func TestPreCommitHook(t *testing.T) {
	r := newHookRepo(t, buildTrunkd(t))

	r.write("providers/acme.yaml", goodProvider)
	r.git("add", "providers/acme.yaml")
	if out, ok := r.run("commit", "-q", "-m", "add acme"); !ok {
		t.Fatalf("valid provider refused:\n%s", out)
	}

	r.write("providers/broken.yaml", badProvider)
	r.git("add", "providers/broken.yaml")
	out, ok := r.run("commit", "-q", "-m", "add broken")
	if ok {
		t.Fatalf("invalid provider committed:\n%s", out)
	}
	if !strings.Contains(out, "providers/broken.yaml:3: transport: must be one of udp, tcp, tls") {
		t.Errorf("hook output does not name file:line: field:\n%s", out)
	}
	if strings.Contains(out, "s3cret") {
		t.Errorf("hook output shows a password:\n%s", out)
	}

	// Fixed in the working tree but not staged: still refused.
	r.write("providers/broken.yaml", strings.Replace(badProvider, "sctp", "tcp", 1))
	if out, ok := r.run("commit", "-q", "-m", "add broken"); ok {
		t.Fatalf("hook checked the working tree instead of the index:\n%s", out)
	}
	// Staged fix, then the working tree broken again: the commit holds the fix.
	r.git("add", "providers/broken.yaml")
	r.write("providers/broken.yaml", badProvider)
	if out, ok := r.run("commit", "-q", "-m", "add fixed"); !ok {
		t.Fatalf("valid staged content refused because of the working tree:\n%s", out)
	}
	r.write("providers/broken.yaml", strings.Replace(badProvider, "sctp", "tcp", 1))

	// A second file with an existing code.
	r.write("providers/acme-copy.yaml", goodProvider)
	r.git("add", "providers/acme-copy.yaml")
	if out, ok := r.run("commit", "-q", "-m", "duplicate"); ok || !strings.Contains(out, "providers/acme.yaml:1: code: duplicate") {
		t.Errorf("duplicate code: committed=%v\n%s", ok, out)
	}
	r.git("rm", "-q", "--cached", "providers/acme-copy.yaml")

	// A provider file in a subdirectory, which the daemon would ignore.
	r.write("providers/old/retired.yaml", strings.Replace(goodProvider, "acme", "retired", -1))
	r.git("add", "providers/old/retired.yaml")
	if out, ok := r.run("commit", "-q", "-m", "nested"); ok || !strings.Contains(out, "providers/old/retired.yaml: ignored") {
		t.Errorf("provider file in a subdirectory: committed=%v\n%s", ok, out)
	}
	r.git("rm", "-q", "--cached", "providers/old/retired.yaml")

	// A commit that does not touch providers/ does not need trunkd at all.
	r.env = append(r.env, "TRUNKD="+filepath.Join(t.TempDir(), "no-such-trunkd"))
	r.write("docs/README.md", "notes\n")
	r.git("add", "docs/README.md")
	if out, ok := r.run("commit", "-q", "-m", "docs"); !ok {
		t.Fatalf("commit outside providers/ was checked:\n%s", out)
	}
	if n := r.commits(); n != 3 {
		t.Errorf("repository has %d commits, want 3 (acme, fixed, docs)", n)
	}
}

// TestCISnippet checks that the CI example is YAML and runs trunkd validate
// on the providers directory.
func TestCISnippet(t *testing.T) {
	data := readFile(t, filepath.Join("git", "ci-validate.yml"))
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				Run string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatalf("ci-validate.yml: %v", err)
	}
	var runs []string
	for _, j := range wf.Jobs {
		for _, s := range j.Steps {
			runs = append(runs, s.Run)
		}
	}
	all := strings.Join(runs, "\n")
	for _, want := range []string{"go install", "trunkd validate providers/"} {
		if !strings.Contains(all, want) {
			t.Errorf("CI steps do not run %q:\n%s", want, all)
		}
	}
}
