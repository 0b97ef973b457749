package main

import (
	"fmt"
	"os"

	"github.com/trunkd/trunkd/registry/cluster"
)

// cluster is the cluster: section as registry/cluster takes it, with the
// node's group (server_index); the node's name defaults to the host name.
// registry/cluster's Check fills the other defaults and names the key of
// every bad value.
func (c *config) cluster() cluster.Config {
	s := c.Cluster
	node := s.Node
	if node == "" {
		node, _ = os.Hostname()
	}
	return cluster.Config{Node: node, Group: c.serverIndex(), Endpoints: s.Etcd.Endpoints, Prefix: s.Etcd.Prefix,
		CAFile: s.Etcd.CAFile, CertFile: s.Etcd.CertFile, KeyFile: s.Etcd.KeyFile,
		LeaseTTL: s.LeaseTTL, FenceMargin: s.FenceMargin, DialTimeout: s.Etcd.DialTimeout}
}

// checkCluster refuses a cluster: section that cannot work, naming the
// key at fault (the TLS files are read at start, so a missing one is
// refused here too).
func (c *config) checkCluster() error {
	if c.Cluster == nil {
		return nil
	}
	cc := c.cluster()
	if err := cc.Check(); err != nil {
		return err
	}
	for _, f := range []struct{ key, path string }{{"ca_file", cc.CAFile}, {"cert_file", cc.CertFile}, {"key_file", cc.KeyFile}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			return fmt.Errorf("cluster.etcd.%s: %w", f.key, err)
		}
	}
	return c.checkFences()
}

// checkFences refuses, in a cluster, a render target that writes
// registering parts without a fence action (an engine: preset or
// fence_cmd): a fenced node would stop its engine registering only with
// its next render, which MinInterval may hold back for as long as the
// fence margin, when another node may already have taken over.
func (c *config) checkFences() error {
	for i, t := range c.Render.Targets {
		if t.Engine != "" || t.FenceCmd != "" {
			continue
		}
		reg, err := t.RendersRegistering()
		if err != nil {
			return fmt.Errorf("render.targets[%d] (%s): %w", i, t.Name, err)
		}
		if reg {
			return fmt.Errorf("render.targets[%d].fence_cmd: target %q renders registering parts (template %s) "+
				"but has no fence action: set engine: (kamailio, freeswitch, asterisk) or fence_cmd and unfence_cmd, "+
				"so that a fenced node stops registering at once", i, t.Name, t.Template)
		}
	}
	return nil
}
