package registry

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInvalidFixtures pins every validation message: each
// testdata/invalid-*.yaml starts with "# want: <problem>" lines, and Parse
// must report exactly those problems, in order.
func TestInvalidFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid-*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, line := range strings.Split(string(data), "\n") {
				if w, ok := strings.CutPrefix(line, "# want: "); ok {
					want = append(want, w)
				}
			}
			if len(want) == 0 {
				t.Fatal("fixture has no '# want:' line")
			}
			_, err = Parse(f, data)
			var probs Problems
			if !errors.As(err, &probs) {
				t.Fatalf("Parse accepted the file (err %v); want %q", err, want)
			}
			var got []string
			for _, p := range probs {
				got = append(got, p.Error())
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("problems:\n got: %q\nwant: %q", got, want)
			}
		})
	}
}

// TestValidFixtures checks files that must pass, and the defaults applied
// to absent fields.
func TestValidFixtures(t *testing.T) {
	data, err := os.ReadFile("testdata/valid-minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse("testdata/valid-minimal.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Code, want.Domain = "minimal", "sip.example.net"
	if p != want {
		t.Errorf("defaults:\n got %+v\nwant %+v", p, want)
	}
	data, err = os.ReadFile("testdata/valid-full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err = Parse("testdata/valid-full.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if p.Login != "3528769" || p.Username != "0123" || p.ProxyPort != 5061 || p.Expires != 0 ||
		p.AlternativeProxies != "tls:[2001:db8::1]:5061,tcp:sbc2.example.net:5060" || p.Opts.Title != "" ||
		p.Ext.CT.String() != "2019-08-27T08:03:14.84Z" {
		t.Errorf("decoded %+v", p)
	}
}

func TestValidateAddressForms(t *testing.T) {
	good := []string{"udp:10.0.0.1:5060", "tcp:sbc.example.net:5060, tls:[2001:db8::1]:5061", ""}
	for _, s := range good {
		if _, err := ParseProxies(s); err != nil {
			t.Errorf("ParseProxies(%q): %v", s, err)
		}
	}
	bad := []string{"10.0.0.1:5060", "udp:10.0.0.1:0", "udp:[2001:db8::1", "udp:a b:5060", "udp:2001:db8::1:5060", ","}
	for _, s := range bad {
		if _, err := ParseProxies(s); err == nil {
			t.Errorf("ParseProxies(%q) accepted", s)
		}
	}
	hosts := map[string]bool{"sip.example.net": true, "10.0.0.1": true, "::1": true, "_sip._udp.example.net": true,
		"-bad.example.net": false, "a..b": false, "": false, "sip example": false, "[::1]": false,
		"fe80::1%eth0": true, "fe80::1%x;y": false, "fe80::1%x y": false, "fe80::1%<x>": false}
	for h, want := range hosts {
		if IsHost(h) != want {
			t.Errorf("IsHost(%q) = %v, want %v", h, !want, want)
		}
	}
}
