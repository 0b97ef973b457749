package sipcheck

import (
	"cmp"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Config is the "probe" section of the daemon's config file. Zero values
// take the defaults written next to each field.
type Config struct {
	Enabled bool `yaml:"enabled"`
	// Listen is the local UDP address of the prober (default 127.0.0.1:0).
	// Every UDP request leaves from this socket and every answer comes back
	// to it; TCP and TLS connections are dialled from its IP.
	Listen string `yaml:"listen"`
	// Advertise is the host[:port] written in Via and Contact (default: the
	// listen address; when listen is 0.0.0.0 or ::, the address of the
	// interface that routes to the internet).
	Advertise string `yaml:"advertise"`
	// RegisterMode is query (default: REGISTER without Contact) or bind.
	RegisterMode string `yaml:"register_mode"`
	// MaxNewPerSecond caps how many first checks start per second (default 500).
	MaxNewPerSecond int `yaml:"max_new_per_second"`
	// AliveCodes lists the final responses to OPTIONS that prove a peer
	// alive: codes, ranges and classes, "!" excludes (default "200-699,!408,!503").
	AliveCodes string `yaml:"alive_codes"`
	// DownAfter consecutive failed pings mark a trunk unreachable (default 3).
	DownAfter int `yaml:"down_after"`
	// UpAfter consecutive answered pings mark it reachable again (default 1).
	UpAfter int `yaml:"up_after"`
	// Timeout bounds every SIP transaction and CRLF pong wait (default 2s;
	// a ping's timeout is also at most its pingtimeout).
	Timeout time.Duration `yaml:"timeout"`
	// TrunkRegex, when set, limits probing to active trunks whose code
	// matches it (RE2 syntax, unanchored: write ^…$ for a whole match).
	// The example config uses it so that `make run` never sends SIP to
	// the real providers its other example trunks name.
	TrunkRegex string `yaml:"trunk_regex"`
	// TLSCAFile is a PEM bundle of the certificate authorities that sign
	// the providers' TLS certificates (transport tls). Unset: the system
	// roots. The certificate must name the dialled host (see doc.go).
	TLSCAFile string `yaml:"tls_ca_file"`
}

// Register modes.
const (
	ModeQuery = "query"
	ModeBind  = "bind"
)

// settings is a Config with its defaults applied and its text parsed.
type settings struct {
	listen       string
	advertise    string
	registerMode string
	maxNew       int
	alive        codeSet
	downAfter    int
	upAfter      int
	timeout      time.Duration
	trunks       *regexp.Regexp // nil: every active trunk
	tlsRoots     *x509.CertPool // nil: the system roots
}

const defaultAliveCodes = "200-699,!408,!503"

func (c Config) settings() (settings, error) {
	s := settings{
		listen:       cmp.Or(c.Listen, "127.0.0.1:0"),
		advertise:    c.Advertise,
		registerMode: cmp.Or(c.RegisterMode, ModeQuery),
		maxNew:       c.MaxNewPerSecond,
		downAfter:    c.DownAfter,
		upAfter:      c.UpAfter,
		timeout:      c.Timeout,
	}
	if _, _, err := net.SplitHostPort(s.listen); err != nil {
		return s, fmt.Errorf("probe.listen: %q is not host:port: %w", s.listen, err)
	}
	if s.registerMode != ModeQuery && s.registerMode != ModeBind {
		return s, fmt.Errorf("probe.register_mode: must be query or bind, got %q", s.registerMode)
	}
	var err error
	if s.alive, err = parseCodeSet(cmp.Or(c.AliveCodes, defaultAliveCodes)); err != nil {
		return s, fmt.Errorf("probe.alive_codes: %w", err)
	}
	if err := s.defaultNumbers(); err != nil {
		return s, err
	}
	err = s.load(c)
	return s, err
}

// load compiles probe.trunk_regex and reads probe.tls_ca_file.
func (s *settings) load(c Config) error {
	var err error
	if c.TrunkRegex != "" {
		if s.trunks, err = regexp.Compile(c.TrunkRegex); err != nil {
			return fmt.Errorf("probe.trunk_regex: %w", err)
		}
	}
	if c.TLSCAFile != "" {
		if s.tlsRoots, err = loadCAFile(c.TLSCAFile); err != nil {
			return fmt.Errorf("probe.tls_ca_file: %w", err)
		}
	}
	return nil
}

// defaultNumbers rejects negative counts and timeout and fills in the
// defaults for those left 0.
func (s *settings) defaultNumbers() error {
	for _, f := range []struct {
		name string
		v    *int
		def  int
	}{{"max_new_per_second", &s.maxNew, 500}, {"down_after", &s.downAfter, 3}, {"up_after", &s.upAfter, 1}} {
		if *f.v < 0 {
			return fmt.Errorf("probe.%s: must not be negative, got %d", f.name, *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if s.timeout < 0 {
		return fmt.Errorf("probe.timeout: must not be negative, got %s", s.timeout)
	}
	s.timeout = cmp.Or(s.timeout, 2*time.Second)
	return nil
}

// loadCAFile reads a PEM bundle of CA certificates; a file without any
// certificate (empty, or only other PEM blocks) is an error, because an
// empty pool would fail every TLS check with a misleading reason.
func loadCAFile(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CA bundle: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}

// codeSet tells for each code 0-699 whether it counts as alive.
type codeSet [700]bool

// has reports whether code is in the set.
func (s *codeSet) has(code int) bool { return code >= 0 && code < len(s) && s[code] }

// parseCodeSet reads "200-299,401,4xx,!408": codes, ranges and classes of
// final responses (200-699); items starting with "!" are removed after
// every other item is added. A list of exclusions only starts from 200-699.
func parseCodeSet(text string) (codeSet, error) {
	var s codeSet
	var add, remove []string
	for _, item := range strings.Split(text, ",") {
		item = strings.TrimSpace(item)
		if rest, ok := strings.CutPrefix(item, "!"); ok {
			remove = append(remove, rest)
		} else {
			add = append(add, item)
		}
	}
	if len(add) == 0 {
		add = []string{"200-699"}
	}
	for _, step := range []struct {
		items []string
		alive bool
	}{{add, true}, {remove, false}} {
		for _, item := range step.items {
			lo, hi, err := parseCodeRange(item)
			if err != nil {
				return s, err
			}
			for c := lo; c <= hi; c++ {
				s[c] = step.alive
			}
		}
	}
	return s, nil
}

func parseCodeRange(item string) (int, int, error) {
	bad := fmt.Errorf("%q is not a final response code (200-699), a range like 200-299 or a class like 4xx", item)
	if len(item) == 3 && (item[1:] == "xx" || item[1:] == "XX") {
		d := int(item[0] - '0')
		if d < 2 || d > 6 {
			return 0, 0, bad
		}
		return d * 100, d*100 + 99, nil
	}
	loText, hiText, isRange := strings.Cut(item, "-")
	lo, err := strconv.Atoi(loText)
	if err != nil {
		return 0, 0, bad
	}
	hi := lo
	if isRange {
		if hi, err = strconv.Atoi(hiText); err != nil {
			return 0, 0, bad
		}
	}
	if lo < 200 || hi > 699 || lo > hi {
		return 0, 0, bad
	}
	return lo, hi, nil
}
