package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"time"
)

// Defaults of the cluster section.
const (
	defaultLeaseTTL    = 3 * time.Second
	defaultFenceMargin = 500 * time.Millisecond
	defaultEtcdPrefix  = "/trunkd/"
)

// nodeName is what a node may be called: it ends up in etcd keys, metric
// labels and the status page.
var nodeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// withDefaults fills what the section leaves unset; the node's name
// defaults to the host name.
func (c clusterConfig) withDefaults() clusterConfig {
	if c.Node == "" {
		c.Node, _ = os.Hostname()
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = defaultLeaseTTL
	}
	if c.FenceMargin == 0 {
		c.FenceMargin = defaultFenceMargin
	}
	if c.Etcd.Prefix == "" {
		c.Etcd.Prefix = defaultEtcdPrefix
	}
	return c
}

// check refuses a section that cannot work, naming the key at fault.
func (c clusterConfig) check() error {
	if !nodeName.MatchString(c.Node) {
		return fmt.Errorf("cluster.node: must be 1-63 of [A-Za-z0-9._-] starting alphanumeric, got %q", c.Node)
	}
	if c.LeaseTTL < 2*time.Second || c.LeaseTTL%time.Second != 0 {
		return fmt.Errorf("cluster.lease_ttl: must be whole seconds, at least 2s (etcd's leases count in seconds), got %v", c.LeaseTTL)
	}
	if c.FenceMargin <= 0 || c.FenceMargin > c.LeaseTTL/2 {
		return fmt.Errorf("cluster.fence_margin: must be above 0 and at most half of cluster.lease_ttl (%v), got %v", c.LeaseTTL/2, c.FenceMargin)
	}
	return c.Etcd.check()
}

// check refuses missing or malformed endpoints and half a TLS setup.
func (e etcdConfig) check() error {
	if len(e.Endpoints) == 0 {
		return errors.New("cluster.etcd.endpoints: at least one etcd endpoint is required")
	}
	for i, ep := range e.Endpoints {
		if err := checkEndpoint(ep); err != nil {
			return fmt.Errorf("cluster.etcd.endpoints[%d]: %w", i, err)
		}
	}
	if e.Prefix[0] != '/' {
		return fmt.Errorf("cluster.etcd.prefix: must start with /, got %q", e.Prefix)
	}
	if (e.CertFile == "") != (e.KeyFile == "") {
		return errors.New("cluster.etcd: cert_file and key_file go together")
	}
	for _, f := range []struct{ key, path string }{{"ca_file", e.CAFile}, {"cert_file", e.CertFile}, {"key_file", e.KeyFile}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			return fmt.Errorf("cluster.etcd.%s: %w", f.key, err)
		}
	}
	return nil
}

// checkEndpoint accepts host:port and http(s)://host:port.
func checkEndpoint(ep string) error {
	hostport := ep
	if u, err := url.Parse(ep); err == nil && u.Scheme != "" && u.Host != "" {
		if u.Scheme != "http" && u.Scheme != "https" {
			return fmt.Errorf("scheme must be http or https, got %q", ep)
		}
		hostport = u.Host
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil || host == "" || port == "" {
		return fmt.Errorf("want host:port or http(s)://host:port, got %q", ep)
	}
	return nil
}
