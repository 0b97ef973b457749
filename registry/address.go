package registry

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Proxy is one entry of alternative_proxies ("transport:host:port").
type Proxy struct {
	Transport string
	Host      string
	Port      int
}

// String formats the proxy as it is written in alternative_proxies.
func (p Proxy) String() string {
	return p.Transport + ":" + JoinHostPort(p.Host, p.Port)
}

// ParseProxies parses a comma-separated list of transport:host:port entries
// (an IPv6 host is written in brackets). The empty string is an empty list.
func ParseProxies(s string) ([]Proxy, error) {
	items := SplitList(s)
	out := make([]Proxy, 0, len(items))
	for _, item := range items {
		tr, rest, ok := strings.Cut(item, ":")
		if !ok || !isTransport(tr) {
			return nil, fmt.Errorf("must be a comma-separated list of transport:host:port with transport udp, tcp or tls, %q is not", item)
		}
		host, port, err := SplitHostPort(rest)
		if err != nil || port == 0 {
			return nil, fmt.Errorf("must be a comma-separated list of transport:host:port, %q needs a host and a port 1-65535", item)
		}
		out = append(out, Proxy{Transport: tr, Host: host, Port: port})
	}
	return out, nil
}

// SplitList splits a comma-separated list, trimming spaces; empty items are
// kept as "" so that validation can reject "a,,b".
func SplitList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// SplitHostPort splits "host", "host:port", "[v6]" or "[v6]:port"; a
// missing port is 0. The host must pass IsHost.
func SplitHostPort(s string) (string, int, error) {
	host, portText, hasPort := s, "", false
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", 0, fmt.Errorf("unclosed [ in %q", s)
		}
		host, portText, hasPort = s[1:end], strings.TrimPrefix(s[end+1:], ":"), end+1 < len(s)
		if hasPort && s[end+1] != ':' {
			return "", 0, fmt.Errorf("unexpected text after ] in %q", s)
		}
	} else if i := strings.LastIndexByte(s, ':'); i >= 0 && strings.Count(s, ":") == 1 {
		host, portText, hasPort = s[:i], s[i+1:], true
	}
	if !IsHost(host) {
		return "", 0, fmt.Errorf("%q is not a host name or IP address", host)
	}
	if !hasPort {
		return host, 0, nil
	}
	port, ok := parsePort(portText)
	if !ok {
		return "", 0, fmt.Errorf("%q is not a port 1-65535", portText)
	}
	return host, port, nil
}

// parsePort reads a port 1-65535 written in decimal digits without a
// leading zero or sign, the one form the JSON schema's pattern admits.
func parsePort(s string) (int, bool) {
	if s == "" || len(s) > 5 || s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	port, _ := strconv.Atoi(s)
	return port, port <= 65535
}

// JoinHostPort is the inverse of SplitHostPort; port 0 is left out.
func JoinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == 0 {
		return host
	}
	return host + ":" + strconv.Itoa(port)
}

// IsHost reports whether s is an IPv4 or IPv6 address (an IPv6 zone only
// of letters, digits, '.', '-' and '_') or a DNS host name (letters, digits,
// '-' and '_' in dot-separated labels of 1-63 characters).
func IsHost(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return safeZone(a.Zone()) // netip takes any text after %: ";", " ", "<"...
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' || !safeZone(label) {
			return false // a label holds no '.', so safeZone's other characters are the label's
		}
	}
	return true
}

// safeZone reports whether an IPv6 zone (interface name) holds only
// letters, digits, '.', '-' and '_', so it cannot break out of a SIP URI
// or an engine config line.
func safeZone(z string) bool {
	for i := 0; i < len(z); i++ {
		if c := z[i]; !isAlnum(c) && c != '.' && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// isTransport tells whether s is a SIP transport trunkd speaks: udp, tcp
// or tls.
func isTransport(s string) bool {
	return s == "udp" || s == "tcp" || s == "tls"
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
