package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
)

// Defaults of the cluster section.
const (
	defaultLeaseTTL    = 3 * time.Second
	defaultEtcdPrefix  = "/trunkd"
	defaultDialTimeout = 2 * time.Second
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
		c.FenceMargin = c.LeaseTTL / 3
	}
	if c.Etcd.DialTimeout == 0 {
		c.Etcd.DialTimeout = defaultDialTimeout
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
	if c.FenceMargin <= 0 || c.FenceMargin >= c.LeaseTTL/2 {
		return fmt.Errorf("cluster.fence_margin: must be above 0 and below half of cluster.lease_ttl (%v), got %v", c.LeaseTTL/2, c.FenceMargin)
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
	if e.Prefix[0] != '/' || strings.Trim(e.Prefix, "/") == "" {
		return fmt.Errorf("cluster.etcd.prefix: must start with / and not be the root, got %q", e.Prefix)
	}
	if e.DialTimeout < 0 {
		return fmt.Errorf("cluster.etcd.dial_timeout: must not be negative, got %v", e.DialTimeout)
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

// checkEndpoint accepts http(s)://host:port.
func checkEndpoint(ep string) error {
	u, err := url.Parse(ep)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.Port() == "" {
		return fmt.Errorf("want http://host:port or https://host:port, got %q", ep)
	}
	return nil
}
