package registry

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIDsAreLowerCase: an id is stored in lower case whatever case the
// file or the API used, found in any case, and an id that differs from
// another only by case is a duplicate.
func TestIDsAreLowerCase(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.yaml"), "id: 58563833-016C-D21B-070F-50E54938780C\ncode: a\ndomain: sip.example.net\n")
	writeFile(t, filepath.Join(dir, "b.yaml"), "id: 58563833-016c-d21b-070f-50e54938780C\ncode: b\ndomain: sip.example.net\n")
	r := openDir(t, dir)
	s := r.Snapshot()
	p, ok := s.ByID("58563833-016c-d21b-070f-50e54938780c")
	if !ok || p.Code != "a" || s.Len() != 1 {
		t.Fatalf("ByID lower: %+v %v, %d providers", p, ok, s.Len())
	}
	if q, ok := s.ByID("58563833-016C-d21b-070f-50E54938780C"); !ok || q != p {
		t.Fatalf("ByID in mixed case: %v", ok)
	}
	inv := s.Invalid()
	if len(inv) != 1 || len(inv[0].Problems) != 1 || inv[0].Problems[0].Field != "id" {
		t.Fatalf("b.yaml should be a duplicate id: %+v", inv)
	}

	c := Default()
	c.ID, c.Code, c.Domain = "58563833-016C-D21B-070F-50E54938780C", "c", "sip.example.net"
	if _, err := r.Create(c); !errors.Is(err, ErrConflict) {
		t.Fatalf("create with an id differing only by case: err = %v, want ErrConflict", err)
	}
	c.ID = "AAAAAAAA-016C-D21B-070F-50E54938780C"
	got, err := r.Create(c)
	if err != nil || got.ID != "aaaaaaaa-016c-d21b-070f-50e54938780c" {
		t.Fatalf("create: %+v, %v", got, err)
	}
	up, err := r.Update("AAAAAAAA-016C-D21B-070F-50E54938780C", func(p *Provider) error {
		p.Pwd = "new"
		p.ID = "AAAAAAAA-016c-d21b-070f-50e54938780c" // the same id in other case
		return nil
	})
	if err != nil || up.Pwd != "new" || up.ID != got.ID {
		t.Fatalf("update by upper-case id: %+v, %v", up, err)
	}
}

// TestRegisteringWithoutUsers: reg: 1 with neither username nor login
// (the README's POST example) is valid and registers as its code.
func TestRegisteringWithoutUsers(t *testing.T) {
	p := Default()
	p.Code, p.Domain, p.Pwd, p.ServerIdx = "new-trunk2", "sip.example.net", "s3cret", 11
	if probs := Validate(&p); len(probs) > 0 {
		t.Fatal(probs)
	}
	if p.AORUser() != "new-trunk2" || p.AuthUser() != "new-trunk2" {
		t.Fatalf("AOR %q auth %q", p.AORUser(), p.AuthUser())
	}
	p.Reg = 0
	if p.AORUser() != "" || p.AuthUser() != "" {
		t.Fatalf("a trunk that does not register has no account: AOR %q auth %q", p.AORUser(), p.AuthUser())
	}
	p.Reg, p.Login = 1, "l"
	if p.AORUser() != "l" || p.AuthUser() != "l" {
		t.Fatalf("AOR %q auth %q", p.AORUser(), p.AuthUser())
	}
}

// TestProblemsCappedPerFile: a file of 10,000 unknown keys reports the
// first MaxProblemsPerFile problems by line and how many more, in Parse,
// in the snapshot and in the log.
func TestProblemsCappedPerFile(t *testing.T) {
	var b strings.Builder
	b.WriteString("code: x\ndomain: sip.example.net\nexpires: 5\n")
	for i := range 10000 {
		fmt.Fprintf(&b, "unknown%d: 1\n", i)
	}
	_, err := Parse("x.yaml", []byte(b.String()))
	var probs Problems
	if !errors.As(err, &probs) || len(probs) != MaxProblemsPerFile+1 {
		t.Fatalf("got %d problems, want %d", len(probs), MaxProblemsPerFile+1)
	}
	if probs[0].Field != "expires" || probs[0].Line != 3 {
		t.Errorf("first problem %v, want the expires value error on line 3", probs[0])
	}
	if last := probs[MaxProblemsPerFile]; last.Error() != "x.yaml:23: and 9981 more problems in this file, not shown" {
		t.Errorf("last problem %q", last.Error())
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "x.yaml"), b.String())
	var logs bytes.Buffer
	r, err := Open(Options{Dir: dir, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	inv := r.Snapshot().Invalid()
	if len(inv) != 1 || len(inv[0].Problems) != MaxProblemsPerFile+1 {
		t.Fatalf("snapshot: %d invalid files", len(inv))
	}
	if n := strings.Count(logs.String(), "level=WARN"); n > MaxProblemsPerFile+1 {
		t.Errorf("%d WARN lines for one file", n)
	}
}

// TestDuplicateNamesKeyLine: the daemon locates a duplicate code at the
// line of the code key, also in a file the API wrote.
func TestDuplicateNamesKeyLine(t *testing.T) {
	dir := t.TempDir()
	r := openDir(t, dir)
	p := Default()
	p.Code, p.Domain = "x", "sip.example.net"
	if _, err := r.Create(p); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "x.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	line := 1 + strings.Count(string(data[:strings.Index(string(data), "\ncode:")+1]), "\n")
	writeFile(t, filepath.Join(dir, "a.yaml"), "domain: sip.example.net\ncode: x\n")
	if _, err := r.rescan(scope{}); err != nil { // x.yaml unchanged: its state is the one the write left
		t.Fatal(err)
	}
	inv := r.Snapshot().Invalid()
	if len(inv) != 1 || inv[0].Problems[0].Line != line || inv[0].Problems[0].Field != "code" {
		t.Fatalf("invalid %+v, want x.yaml's code on line %d", inv, line)
	}
}

// TestWriteErrorsHoldNoServerPath: a failed write names the file, never
// the providers directory: the error reaches API clients.
func TestWriteErrorsHoldNoServerPath(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "x.yaml"), "code: x\ndomain: sip.example.net\n")
	r := openDir(t, dir)
	testHookBeforeRename = func(string) { // the file turns into a directory: the rename fails
		final := filepath.Join(dir, "x.yaml")
		_ = os.Remove(final)
		_ = os.MkdirAll(filepath.Join(final, "sub"), 0o755)
	}
	defer func() { testHookBeforeRename = nil }()
	_, err := r.Update(r.Snapshot().Providers()[0].ID, func(p *Provider) error { p.Expires = 300; return nil })
	if err == nil || strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "x.yaml") {
		t.Fatalf("err = %v; want one naming x.yaml without %s", err, dir)
	}
	if !errors.Is(err, os.ErrExist) {
		t.Errorf("the cause is no longer visible to errors.Is: %v", err)
	}
}
