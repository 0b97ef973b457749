package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const importTestdata = "../../render/importer/testdata"

// TestImportThenValidate drives `trunkd import` into a temp dir for both
// formats and checks that `trunkd validate` passes on the result.
func TestImportThenValidate(t *testing.T) {
	for _, c := range []struct {
		name  string
		args  []string
		files []string
	}{
		{"asterisk", []string{"--from", "asterisk", importTestdata + "/asterisk/pjsip.conf", "--server-index", "11"}, []string{"acme.yaml", "carrier.yaml", "globex.yaml"}},
		{"freeswitch", []string{"--from", "freeswitch", "--vars", importTestdata + "/freeswitch/vars.xml",
			importTestdata + "/freeswitch/acme.xml", importTestdata + "/freeswitch/external.xml"}, []string{"acme.yaml", "carrier.yaml", "globex.yaml", "initech.yaml"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "providers")
			code, out, errs := runCmd(t, append(append([]string{"import"}, c.args...), "--out", dir)...)
			if code != 0 {
				t.Fatalf("import exit %d\nstdout %s\nstderr %s", code, out, errs)
			}
			for _, f := range c.files {
				if !strings.Contains(out, filepath.Join(dir, f)+"\n") {
					t.Errorf("stdout does not list %s:\n%s", f, out)
				}
			}
			if !strings.Contains(errs, fmt.Sprintf("trunkd import: %d of %d trunks imported into %s", len(c.files), len(c.files), dir)) {
				t.Errorf("no summary on stderr:\n%s", errs)
			}
			if !strings.HasSuffix(errs, "\nnext: review the commented values, then run trunkd validate on the directory\n") {
				t.Errorf("stderr does not end with the next step:\n%s", errs)
			}
			if code, _, errs := runCmd(t, append(append([]string{"import"}, c.args...), "--dry-run")...); code != 0 || strings.Contains(errs, "next:") {
				t.Errorf("dry run: exit %d, want 0 and no next step (nothing was written)\n%s", code, errs)
			}
			if code, out, errs := runCmd(t, "validate", dir); code != 0 {
				t.Fatalf("validate exit %d\nstdout %s\nstderr %s", code, out, errs)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != len(c.files) {
				t.Errorf("%d files in %s, want %v", len(entries), dir, c.files)
			}
		})
	}
}

// TestImportFailures: a trunk that cannot be imported is reported with its
// file:line and makes the exit code 1, the others are still written; an
// existing file is not replaced without --force; no password on any stream
// but the file.
func TestImportFailures(t *testing.T) {
	src := filepath.Join(t.TempDir(), "pjsip.conf")
	conf := `[good-auth]
type=auth
username=good
password=Good-Secret-1
[good]
type=endpoint
outbound_auth=good-auth
from_domain=sip.good.example
[bad-auth]
type=auth
auth_type=md5
md5_cred=0123456789abcdef0123456789abcdef
[bad]
type=endpoint
outbound_auth=bad-auth
from_domain=sip.bad.example
`
	if err := os.WriteFile(src, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	code, out, errs := runCmd(t, "import", "--from", "asterisk", src, "--out", dir)
	if code != 1 || !strings.Contains(errs, src+":11: bad: error: auth [bad-auth] has auth_type=md5") || !strings.Contains(errs, "not imported: bad") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
	if strings.Contains(out+errs, "Good-Secret-1") {
		t.Errorf("the password is on stdout or stderr")
	}
	data, err := os.ReadFile(filepath.Join(dir, "good.yaml"))
	if err != nil || !strings.Contains(string(data), "pwd: Good-Secret-1") {
		t.Fatalf("good.yaml: %v\n%s", err, data)
	}
	if code, _, errs := runCmd(t, "import", "--from", "asterisk", src, "--out", dir); code != 1 || !strings.Contains(errs, "good: skipped: the file exists (--force replaces it)") {
		t.Errorf("second import without --force: exit %d\n%s", code, errs)
	}
	if code, _, errs := runCmd(t, "import", "--from", "asterisk", "--force", src, "--out", dir); code != 1 || strings.Contains(errs, "use --force") {
		t.Errorf("import with --force: exit %d (1 for the md5 trunk)\n%s", code, errs)
	}
	code, out, errs = runCmd(t, "import", "--from", "asterisk", "--dry-run", src)
	if code != 1 || !strings.Contains(out, "# file: good.yaml") || strings.Contains(out, "Good-Secret-1") {
		t.Errorf("dry run: exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
}

// TestImportTwice: a second identical import writes nothing, says per
// trunk that its file exists, and counts the trunks as skipped, not as
// errors (it used to print "error: not written" per trunk, then "0 errors").
func TestImportTwice(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "providers")
	args := []string{"import", "--from", "asterisk", importTestdata + "/asterisk/pjsip.conf", "--server-index", "11", "--out", dir}
	if code, out, errs := runCmd(t, args...); code != 0 {
		t.Fatalf("first import: exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
	code, out, errs := runCmd(t, args...)
	if code != 1 || out != "" || strings.Contains(errs, ": error: ") || strings.Contains(errs, "next:") {
		t.Fatalf("second import: exit %d, want 1, no file listed and no error\nstdout %s\nstderr %s", code, out, errs)
	}
	for _, c := range []string{"acme", "carrier", "globex"} {
		if want := filepath.Join(dir, c+".yaml") + ": " + c + ": skipped: the file exists (--force replaces it)\n"; !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	want := "trunkd import: 0 of 3 trunks imported into " + dir + "; 3 skipped: file exists (--force replaces it); 0 errors, 4 warnings, 6 notes\n"
	if !strings.Contains(errs, want) {
		t.Errorf("summary: want %q in\n%s", want, errs)
	}
}

func TestImportUsage(t *testing.T) {
	for _, args := range [][]string{
		{"import"},
		{"import", "--from", "kamailio", "x.conf", "--out", "d"},
		{"import", "--from", "asterisk", "--out", "d"},
		{"import", "--from", "asterisk", "x.conf"},
		{"import", "--from", "asterisk", "--vars", "vars.xml", "x.conf", "--out", "d"},
		{"import", "--from", "asterisk", filepath.Join(t.TempDir(), "missing.conf"), "--out", t.TempDir()},
	} {
		if code, _, _ := runCmd(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}
