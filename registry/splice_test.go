package registry

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// updateFile writes body as x.yaml, applies change through Update and
// returns the file afterwards.
func updateFile(t *testing.T, body string, change func(p *Provider)) (string, error) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "x.yaml")
	writeFile(t, path, body)
	r := openDir(t, dir)
	s := r.Snapshot()
	if s.Len() != 1 {
		t.Fatalf("fixture not loaded: %+v", s.Invalid())
	}
	_, err := r.Update(s.Providers()[0].ID, func(p *Provider) error { change(p); return nil })
	data, rerr := os.ReadFile(path)
	if rerr != nil {
		t.Fatal(rerr)
	}
	return string(data), err
}

// TestUpdateKeepsUntouchedLines: every line whose value did not change is
// byte-identical after an update, aligned comments and quoting included;
// new fields are added at the end of their mapping.
func TestUpdateKeepsUntouchedLines(t *testing.T) {
	body := "# head comment\n" +
		"code: x\n" +
		"domain: sip.example.net      # aligned comment\n" +
		"username:   'alice'          # quoted, odd spacing\n" +
		"pwd: \"old\"   # secret\n" +
		"expires: 600\n" +
		"\n" +
		"opts:\n" +
		"    title:      Old title   # four-space indent\n" +
		"    comment:\n" +
		"lic: {siptrunks: 2}\n" +
		"# tail comment\n"
	got, err := updateFile(t, body, func(p *Provider) {
		p.Pwd, p.Expires, p.Opts.Title, p.Opts.Comment, p.Username = "new # not a comment", 300, "New: title", "c", "bob"
		p.Transport = "tcp"
	})
	if err != nil {
		t.Fatal(err)
	}
	gotLines := strings.Split(got, "\n")
	wantSame := map[int]bool{0: true, 1: true, 2: true, 6: true, 7: true, 10: true, 11: true}
	for i, l := range strings.Split(body, "\n") {
		if wantSame[i] && (i >= len(gotLines) || gotLines[i] != l) {
			t.Errorf("line %d changed: %q -> %q", i+1, l, gotLines[min(i, len(gotLines)-1)])
		}
	}
	for _, want := range []string{
		"username:   'bob'          # quoted, odd spacing",
		`pwd: "new # not a comment"   # secret`,
		"expires: 300",
		"    title:      'New: title'   # four-space indent",
		"    comment: c",
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("missing line %q in\n%s", want, got)
		}
	}
	if !strings.Contains(got, "# tail comment\ntransport: tcp\next:\n  ct: ") {
		t.Errorf("new fields not at the end:\n%s", got)
	}
}

// TestUpdateAddsToGroupMapping: a field missing from an existing group
// goes after the group's last line, with the group's indentation.
func TestUpdateAddsToGroupMapping(t *testing.T) {
	body := "code: x\ndomain: sip.example.net\nopts:\n   title: t   # c\nexpires: 600\n"
	got, err := updateFile(t, body, func(p *Provider) { p.Opts.Comment = "new" })
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, "code: x\ndomain: sip.example.net\nopts:\n   title: t   # c\n   comment: new\nexpires: 600\n") {
		t.Errorf("got\n%s", got)
	}
}

// TestUpdateRefusesAnchoredValue: a value shared through an anchor cannot
// change without changing its aliases; the update is refused naming the
// field and the file stays. An alias itself is replaced by the value.
func TestUpdateRefusesAnchoredValue(t *testing.T) {
	body := "code: x\ndomain: sip.example.net\nusername: &u x1\nlogin: *u\n"
	got, err := updateFile(t, body, func(p *Provider) { p.Username = "changed" })
	var ae *AnchorError
	if !errors.As(err, &ae) || !errors.Is(err, ErrConflict) || ae.Field != "username" || !strings.Contains(err.Error(), "username") {
		t.Fatalf("err = %v, want an AnchorError for username", err)
	}
	if got != body {
		t.Fatalf("refused update changed the file:\n%s", got)
	}
	got, err = updateFile(t, body, func(p *Provider) { p.Login = "other" })
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse("x.yaml", []byte(got))
	if err != nil || p.Username != "x1" || p.Login != "other" || !strings.Contains(got, "username: &u x1\nlogin: other\n") {
		t.Fatalf("alias replaced: %+v %v\n%s", p, err, got)
	}
}

// TestUpdateFallsBackToEncoding: a value that cannot be located in place
// (a block scalar) is written by re-encoding the tree, and still reads back.
func TestUpdateFallsBackToEncoding(t *testing.T) {
	body := "code: x\ndomain: sip.example.net\npwd: |-\n  block\n"
	got, err := updateFile(t, body, func(p *Provider) { p.Pwd = "flat" })
	if err != nil {
		t.Fatal(err)
	}
	if p, err := Parse("x.yaml", []byte(got)); err != nil || p.Pwd != "flat" {
		t.Fatalf("%+v %v\n%s", p, err, got)
	}
}

// TestUpdateStoresRealWriteTime: a file with an ext.lwt far in the future
// gets the time of the write, not last+10ms; ext.ct stays.
func TestUpdateStoresRealWriteTime(t *testing.T) {
	body := "code: x\ndomain: sip.example.net\next:\n  ct: 2099-06-01T00:00:00Z\n  lwt: 2099-06-01T00:00:00Z\n"
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "x.yaml"), body)
	r := openDir(t, dir)
	id := r.Snapshot().Providers()[0].ID
	for i := range 3 {
		before := time.Now().Add(-time.Second)
		p, err := r.Update(id, func(p *Provider) error { p.Expires = 300 + i; return nil })
		if err != nil {
			t.Fatal(err)
		}
		if p.Ext.LWT.Before(before) || p.Ext.LWT.After(time.Now().Add(time.Second)) {
			t.Errorf("write %d: lwt %v, want the time of the write", i, p.Ext.LWT)
		}
		if p.Ext.CT.Year() != 2099 {
			t.Errorf("ct changed to %v", p.Ext.CT)
		}
	}
}

// BenchmarkEditFile compares the update's file edit (splice, then parse
// back) with the re-encoding of the node tree it replaced, on the seed's
// example file with one changed value.
func BenchmarkEditFile(b *testing.B) {
	data, err := os.ReadFile("../examples/providers/3528769.yaml")
	if err != nil {
		b.Fatal(err)
	}
	pr, probs := parse("3528769.yaml", data)
	if len(probs) > 0 {
		b.Fatal(probs)
	}
	next := pr.p
	next.Expires = 300
	b.Run("splice+verify", func(b *testing.B) {
		for b.Loop() {
			pr, _ := parse("3528769.yaml", data)
			if _, _, err := editFile("3528769.yaml", data, pr.doc, &pr.p, &next); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reencode", func(b *testing.B) {
		for b.Loop() {
			pr, _ := parse("3528769.yaml", data)
			editDoc(pr.doc, &pr.p, &next)
			if _, err := encodeDoc(pr.doc); err != nil {
				b.Fatal(err)
			}
		}
	})
}
