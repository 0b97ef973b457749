package cluster

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Defaults of the optional Config fields.
const (
	DefaultPrefix      = "/trunkd"
	DefaultLeaseTTL    = 3 * time.Second
	DefaultDialTimeout = 2 * time.Second
)

// Config is the `cluster:` section of the daemon's configuration, already
// decoded. Check fills the defaults and names the config key of every
// problem.
type Config struct {
	Node      string   // cluster.node: this node's unique name
	Group     int      // the daemon's server_index; -1 (registry.AnyServer): one group of every node
	Endpoints []string // cluster.etcd.endpoints: http(s)://host:port of the etcd members
	Prefix    string   // cluster.etcd.prefix: every key lives below it; default /trunkd
	CAFile    string   // cluster.etcd.ca_file: CA bundle for https endpoints
	CertFile  string   // cluster.etcd.cert_file: client certificate (with key_file)
	KeyFile   string   // cluster.etcd.key_file
	// LeaseTTL (cluster.lease_ttl) is the TTL of the node's etcd lease, a
	// whole number of seconds, at least 2 s; default 3 s. The node's keys
	// vanish that long after its last keep-alive reached etcd.
	LeaseTTL time.Duration
	// FenceMargin (cluster.fence_margin) is how long before the earliest
	// possible expiry of its lease the node fences; default LeaseTTL/3.
	// It must cover the fence action (the engine stops registering) and
	// scheduling delays; it must be below LeaseTTL/2.
	FenceMargin time.Duration
	// DialTimeout (cluster.etcd.dial_timeout) bounds connecting to an
	// endpoint; default 2 s.
	DialTimeout time.Duration
}

// ErrConfig is wrapped by every error of Check.
var ErrConfig = errors.New("cluster config")

// Check validates c and fills the defaults.
func (c *Config) Check() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrConfig, key, fmt.Sprintf(format, args...)))
	}
	if c.Node == "" {
		bad("cluster.node", "missing: a unique name of this node")
	} else if strings.ContainsAny(c.Node, "/ \t\n") {
		bad("cluster.node", "%q: no '/' or white space", c.Node)
	}
	if c.Group < -1 {
		bad("server_index", "%d: must be -1 (none) or at least 0", c.Group)
	}
	c.checkEndpoints(bad)
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	c.Prefix = "/" + strings.Trim(c.Prefix, "/")
	if c.Prefix == "/" {
		bad("cluster.etcd.prefix", "must not be the root")
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		bad("cluster.etcd.cert_file", "cert_file and key_file go together")
	}
	c.checkTimes(bad)
	return errors.Join(errs...)
}

func (c *Config) checkEndpoints(bad func(key, format string, args ...any)) {
	if len(c.Endpoints) == 0 {
		bad("cluster.etcd.endpoints", "missing: at least one http(s)://host:port")
	}
	for i, ep := range c.Endpoints {
		u, err := url.Parse(ep)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Port() == "" {
			bad(fmt.Sprintf("cluster.etcd.endpoints[%d]", i), "%q: want http://host:port or https://host:port", ep)
		}
	}
}

func (c *Config) checkTimes(bad func(key, format string, args ...any)) {
	if c.LeaseTTL == 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	if c.LeaseTTL < 2*time.Second || c.LeaseTTL%time.Second != 0 {
		bad("cluster.lease_ttl", "%s: must be a whole number of seconds, at least 2s", c.LeaseTTL)
	}
	if c.FenceMargin == 0 {
		c.FenceMargin = c.LeaseTTL / 3
	}
	if c.FenceMargin < 0 || c.FenceMargin >= c.LeaseTTL/2 {
		bad("cluster.fence_margin", "%s: must be positive and below half of lease_ttl (%s)", c.FenceMargin, c.LeaseTTL)
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.DialTimeout < 0 {
		bad("cluster.etcd.dial_timeout", "%s: must be positive", c.DialTimeout)
	}
}
