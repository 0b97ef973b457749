package examples

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// repoRoot is the repository root: the tests run in examples/.
const repoRoot = ".."

// needTool returns the path of an external program a test needs. When it is
// missing the test fails under CI (env CI set) and is skipped elsewhere.
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required under CI but not on PATH (%s): %v", name, installHint(name), err)
	}
	t.Skipf("%s not on PATH (%s); skipping", name, installHint(name))
	return ""
}

// installHint says where a tool comes from: a Debian package, or for
// kustomize (not packaged in Debian) the pinned go install of .ci/run.
func installHint(tool string) string {
	if tool == "kustomize" {
		return "go install sigs.k8s.io/kustomize/kustomize/v5, as .ci/run does"
	}
	return "Debian: apt-get install " + debianPackage(tool)
}

func debianPackage(tool string) string {
	switch tool {
	case "promtool":
		return "prometheus"
	case "systemd-analyze":
		return "systemd"
	default:
		return tool
	}
}

// runTool runs a program in dir and fails the test with its output when it
// exits non-zero.
func runTool(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v in %s: %v\n%s", name, args, dir, err, out.String())
	}
	return out.String()
}

// buildTrunkd builds the trunkd command into a temporary directory.
func buildTrunkd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "trunkd")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	runTool(t, repoRoot, "go", "build", "-o", bin, "./cmd/trunkd")
	return bin
}

// readFile reads a file relative to examples/ or fails the test.
func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return data
}
