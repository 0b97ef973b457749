package registry

import (
	"errors"
	"path/filepath"
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
