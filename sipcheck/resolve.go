package sipcheck

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// DNS cache lifetimes: Go's resolver does not report TTLs, so answers are
// kept for a fixed time; failures briefly, so a fixed record is seen soon.
const (
	dnsPositiveTTL = 60 * time.Second
	dnsNegativeTTL = 5 * time.Second
)

// resolver caches host → IP lookups so that 10,000 trunks on one provider
// domain do not cost a DNS query per ping (sipgo resolves per transaction).
type resolver struct {
	lookup func(ctx context.Context, host string) ([]net.IPAddr, error)

	mu    sync.Mutex
	cache map[string]dnsEntry
}

type dnsEntry struct {
	addr  netip.Addr
	err   error
	until time.Time
}

func newResolver() *resolver {
	return &resolver{lookup: net.DefaultResolver.LookupIPAddr, cache: map[string]dnsEntry{}}
}

// resolve returns the address of host, IPv4 preferred; literals pass as is.
func (r *resolver) resolve(ctx context.Context, host string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a, nil
	}
	now := time.Now()
	r.mu.Lock()
	e, ok := r.cache[host]
	r.mu.Unlock()
	if ok && now.Before(e.until) {
		return e.addr, e.err
	}
	addrs, err := r.lookup(ctx, host)
	e = dnsEntry{until: now.Add(dnsPositiveTTL)}
	switch {
	case err != nil:
		if ctx.Err() != nil {
			return netip.Addr{}, fmt.Errorf("resolve %s: %w", host, err)
		}
		e.err, e.until = fmt.Errorf("resolve %s: %w", host, err), now.Add(dnsNegativeTTL)
	case len(addrs) == 0:
		e.err, e.until = fmt.Errorf("resolve %s: no addresses", host), now.Add(dnsNegativeTTL)
	default:
		e.addr = pickAddr(addrs)
	}
	r.mu.Lock()
	r.cache[host] = e
	r.mu.Unlock()
	return e.addr, e.err
}

func pickAddr(addrs []net.IPAddr) netip.Addr {
	var first netip.Addr
	for i, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		if ip.Is4() {
			return ip
		}
		if i == 0 || !first.IsValid() {
			first = ip
		}
	}
	return first
}
