package render

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/templates"
)

// The one gate (registry package doc, "Values"): whatever the registry
// accepts renders with every built-in template. These tests generate
// providers from the nastiest values the validator allows, store them
// through a real registry and render every built-in template over them.

// gateTemplates are the built-in templates with one block per trunk.
func gateTemplates(t *testing.T) []string {
	t.Helper()
	names := templates.Names()
	if len(names) < 5 {
		t.Fatalf("built-in templates %v", names)
	}
	return names
}

// TestGateProperty: generated valid providers render through every
// built-in template with zero errors, and every trunk is in the output.
func TestGateProperty(t *testing.T) {
	rounds, perRound := 8, 40
	if testing.Short() {
		rounds = 2
	}
	for round := range rounds {
		rng := rand.New(rand.NewPCG(uint64(round), 9))
		reg := openRegistry(t, t.TempDir())
		var made []registry.Provider
		for len(made) < perRound {
			p := genProvider(rng)
			if probs := registry.Validate(&p); len(probs) > 0 {
				t.Fatalf("round %d: generator made an invalid provider %+v: %v", round, p, probs)
			}
			if _, ok := reg.Snapshot().ByCode(p.Code); ok {
				continue
			}
			if _, err := reg.Create(p); err != nil {
				t.Fatalf("round %d: create %q: %v", round, p.Code, err)
			}
			made = append(made, p)
		}
		renderAll(t, reg.Snapshot(), made)
	}
}

// FuzzGate: any values the registry accepts render with every built-in
// template. The seed corpus holds the hostile values of issue 9, which the
// registry must refuse or render.
func FuzzGate(f *testing.F) {
	seeds := [][6]string{
		{"new-trunk2", "", "", "s3cret", "sip.example.net", "1"},
		{"a b", "", "", "x", "sip.example.net", "1"},
		{"trail ", "u", "", "x", "sip.example.net", "1"},
		{" ", "u", "", "x", "sip.example.net", "1"},
		{"Oktell ", "u", "", "x", "sip.example.net", "1"},
		{"sp", "a b", "", "x", "sip.example.net", "1"},
		{"esc", "u", "", "a\x1bb", "sip.example.net", "1"},
		{"dollar", "u", "", "a${b}", "sip.example.net", "1"},
		{"ctl", "a\tb", "l\vm", "f\fg\x7f\u0085\u2028", "sip.example.net", "0"},
		{"nbsp\u00a0", "u", "", "x", "sip.example.net", "1"},
		{"zw\u200b", "u", "", "x", "sip.example.net", "1"},
		{"arrow", "", "l@host", ">pw;x[y]&<'\"\\", "fe80::1%eth0", "1"},
		{"quote", "u", `a"b`, "x", "1:2", "1"},
		{"9", "%41b", "", "$", "sip.example.net.", "1"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2], s[3], s[4], s[5] == "1")
	}
	f.Fuzz(func(t *testing.T, code, username, login, pwd, domain string, reg bool) {
		p := registry.Default()
		p.Code, p.Username, p.Login, p.Pwd, p.Domain = code, username, login, pwd, domain
		p.Reg = 0
		if reg {
			p.Reg = 1
		}
		p.Opts.Title = pwd
		if len(registry.Validate(&p)) > 0 {
			return
		}
		reg2 := openRegistry(t, t.TempDir())
		if _, err := reg2.Create(p); err != nil {
			t.Fatalf("Validate accepted %+v but Create refused it: %v", p, err)
		}
		renderAll(t, reg2.Snapshot(), []registry.Provider{p})
	})
}

// renderAll renders every built-in template over snap and fails on any
// error or on a trunk missing from a per-trunk output.
func renderAll(t *testing.T, snap *registry.Snapshot, ps []registry.Provider) {
	t.Helper()
	for _, name := range gateTemplates(t) {
		out, err := renderData(t, name, nil, snap)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if name == "kamailio/version" {
			continue
		}
		for _, p := range ps {
			if name == "kamailio/uacreg" && p.Reg != 1 {
				continue
			}
			if !strings.Contains(out, p.Code) {
				t.Fatalf("%s: trunk %q missing from the output", name, p.Code)
			}
		}
	}
}

// genProvider builds a valid, active provider from the nastiest values
// each field's rule allows.
func genProvider(rng *rand.Rand) registry.Provider {
	p := registry.Default()
	p.Code = genCode(rng)
	p.Reg = rng.IntN(2)
	switch rng.IntN(4) {
	case 0: // neither: a registering trunk registers as its code
	case 1:
		p.Username = genFrom(rng, sipUserChars, 1, 40)
	case 2:
		p.Login = genFrom(rng, sipUserChars, 1, 40)
	default:
		p.Username = genFrom(rng, sipUserChars, 1, 40)
		p.Login = genText(rng, `"\`)
	}
	if rng.IntN(5) > 0 {
		p.Pwd = genText(rng, "")
	}
	p.Domain = pick(rng, gateHosts)
	if rng.IntN(2) == 0 {
		p.ProxyAddr = pick(rng, gateHosts)
		p.ProxyPort = pick(rng, []int{0, 1, 5060, 5061, 65535})
	}
	p.Transport = pick(rng, []string{"udp", "tcp", "tls"})
	var alts []string
	for range rng.IntN(3) {
		alts = append(alts, pick(rng, []string{"udp", "tcp", "tls"})+":"+registry.JoinHostPort(pick(rng, gateHosts), 1+rng.IntN(65535)))
	}
	p.AlternativeProxies = strings.Join(alts, ",")
	if rng.IntN(2) == 0 {
		p.ExtAddrs = pick(rng, gateHosts) + " , " + pick(rng, gateHosts)
	}
	p.Expires = pick(rng, []int{0, 60, 600, 86400})
	p.PingMode = pick(rng, []string{"none", "rn", "options"})
	if rng.IntN(2) == 0 {
		p.PingSrv = registry.JoinHostPort(pick(rng, gateHosts), rng.IntN(2)*5062)
	}
	p.PingTimeout = pick(rng, []int{1, 4, 10, 3600})
	if rng.IntN(2) == 0 {
		p.LocalDomain = pick(rng, gateHosts)
	}
	p.Media, p.Reinvite, p.Translit = rng.IntN(2), rng.IntN(2), rng.IntN(2)
	p.ServerIdx = rng.IntN(1 << 20)
	p.Opts.Title = genText(rng, "")
	p.Opts.Comment = " " + genText(rng, "") + " "
	return p
}

// gateHosts are host forms IsHost accepts, odd ones included.
var gateHosts = []string{
	"sip.example.net", "sip.example.net.", "a", "_sip._udp.example.org", "192.0.2.1", "0.0.0.0",
	"2001:db8::1", "::", "fe80::1%eth0", "fe80::1%a.b-c_d", "::ffff:192.0.2.1", "x--y.example",
	strings.Repeat("a", 63) + ".example",
}

const (
	codeChars    = "abcXYZ019._+-"
	sipUserChars = "aZ09-_.!~*'()&=+$,;?/%"
)

func genCode(rng *rand.Rand) string {
	first := pick(rng, []string{"a", "Z", "0", "9"})
	return first + genFrom(rng, codeChars, 0, registry.MaxCodeLen-1)
}

// genFrom makes a string of n (min..max) characters of chars; a '%' is
// followed by two hex digits so that it is an escape.
func genFrom(rng *rand.Rand, chars string, min, max int) string {
	n := min + rng.IntN(max-min+1)
	var b strings.Builder
	for range n {
		c := chars[rng.IntN(len(chars))]
		b.WriteByte(c)
		if c == '%' {
			b.WriteString(pick(rng, []string{"20", "41", "fF", "00"}))
		}
	}
	return b.String()
}

// nastyRunes are characters every engine quotes or parses specially, and
// non-ASCII text that is not a control character.
var nastyRunes = []rune(`;#[]{}<>&'"\$%:=,@!*|` + "` ~\u00a0\u200b\u00ff\u0100\u4e16\U0001F600\ufeff\u00ad=>-->")

// genText makes free text without control characters, "${" or white space
// at either end; avoid lists characters not to use.
func genText(rng *rand.Rand, avoid string) string {
	n := 1 + rng.IntN(30)
	var b strings.Builder
	for range n {
		r := nastyRunes[rng.IntN(len(nastyRunes))]
		if rng.IntN(3) == 0 {
			r = rune('a' + rng.IntN(26))
		}
		if strings.ContainsRune(avoid, r) {
			continue
		}
		b.WriteRune(r)
	}
	s := strings.ReplaceAll(b.String(), "${", "$ {")
	s = strings.TrimFunc(s, func(r rune) bool { return r == ' ' || r == '\u00a0' })
	if s == "" {
		s = "x"
	}
	return s
}

func pick[T any](rng *rand.Rand, from []T) T { return from[rng.IntN(len(from))] }
