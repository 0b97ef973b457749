package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/trunkd/trunkd/api"
	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/registry/gitstore"
	"github.com/trunkd/trunkd/registry/sops"
	"github.com/trunkd/trunkd/render"
	"github.com/trunkd/trunkd/sipcheck"
)

// config is the daemon's config file (DESIGN.md §3). Relative paths are
// relative to the working directory, as in examples/trunkd.yaml.
type config struct {
	ProvidersDir string          `yaml:"providers_dir"`
	Listen       string          `yaml:"listen"`
	ServerIndex  *int            `yaml:"server_index"`
	HTTP         httpConfig      `yaml:"http"`
	Auth         authConfig      `yaml:"auth"`
	Render       render.Config   `yaml:"render"`
	Probe        sipcheck.Config `yaml:"probe"`
	Log          logConfig       `yaml:"log"`
	Secrets      sops.Config     `yaml:"secrets"`
	Git          *gitConfig      `yaml:"git"`     // nil: providers_dir is a plain directory
	Cluster      *clusterConfig  `yaml:"cluster"` // nil: a single node, no cluster code runs
	Demo         demoConfig      `yaml:"demo"`
}

// httpConfig is the "http" section: limits on clients and TLS.
type httpConfig struct {
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	MaxConnections    int           `yaml:"max_connections"`
	TLS               tlsConfig     `yaml:"tls"`
}

// tlsConfig is "http.tls": serve HTTPS when cert_file is set.
type tlsConfig struct {
	CertFile     string `yaml:"cert_file"`
	KeyFile      string `yaml:"key_file"`
	ClientCAFile string `yaml:"client_ca_file"` // verify client certificates signed by these CAs
}

// limits are the HTTP server's limits of the config.
func (h httpConfig) limits() api.Limits {
	return api.Limits{ReadHeaderTimeout: h.ReadHeaderTimeout, ReadTimeout: h.ReadTimeout,
		WriteTimeout: h.WriteTimeout, IdleTimeout: h.IdleTimeout, MaxConns: h.MaxConnections}
}

// check refuses negative limits and half a TLS setup.
func (h httpConfig) check() error {
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"read_header_timeout", h.ReadHeaderTimeout}, {"read_timeout", h.ReadTimeout},
		{"write_timeout", h.WriteTimeout}, {"idle_timeout", h.IdleTimeout}} {
		if d.v < 0 {
			return fmt.Errorf("http.%s: must not be negative, got %v", d.key, d.v)
		}
	}
	if h.MaxConnections < 0 {
		return fmt.Errorf("http.max_connections: must not be negative, got %d", h.MaxConnections)
	}
	t := h.TLS
	if (t.CertFile == "") != (t.KeyFile == "") {
		return errors.New("http.tls: cert_file and key_file go together")
	}
	if t.ClientCAFile != "" && t.CertFile == "" {
		return errors.New("http.tls.client_ca_file: needs cert_file and key_file (client certificates need TLS)")
	}
	return nil
}

type authConfig struct {
	TokensFile              string `yaml:"tokens_file"`
	StatusPageRequiresToken bool   `yaml:"status_page_requires_token"`
}

type logConfig struct {
	Level  string `yaml:"level"`  // debug, info (default), warn, error
	Format string `yaml:"format"` // text (default) or json
}

// gitConfig is the "git" section: the remote trunkd follows and commits
// to, and the secret of the forges' push webhooks.
type gitConfig struct {
	gitstore.Config   `yaml:",inline"`
	WebhookSecretFile string `yaml:"webhook_secret_file"` // empty: the webhook endpoints answer 404
}

// clusterConfig is the "cluster" section: the node's name and the etcd it
// claims its trunks in (docs/cluster.md). Without the section no cluster
// code runs and the daemon is a single node owning every active trunk.
type clusterConfig struct {
	Node        string        `yaml:"node"` // unique in the cluster; default: the host name
	Etcd        etcdConfig    `yaml:"etcd"`
	LeaseTTL    time.Duration `yaml:"lease_ttl"`    // default 3s, whole seconds (etcd's lease unit)
	FenceMargin time.Duration `yaml:"fence_margin"` // default lease_ttl/3
	// Defaults and checks: registry/cluster's Config.Check.
}

// etcdConfig is "cluster.etcd": the operator's etcd cluster.
type etcdConfig struct {
	Endpoints   []string      `yaml:"endpoints"` // http(s)://host:port
	Prefix      string        `yaml:"prefix"`    // default /trunkd
	DialTimeout time.Duration `yaml:"dial_timeout"`
	CAFile      string        `yaml:"ca_file"`
	CertFile    string        `yaml:"cert_file"`
	KeyFile     string        `yaml:"key_file"`
}

// demoConfig is the "demo" section: what `make run` uses to show every
// part working on one machine. Never set it in production.
type demoConfig struct {
	// FakeProvider runs a loopback SIP provider inside the daemon, so the
	// example trunk really registers and answers pings.
	FakeProvider fakeProviderConfig `yaml:"fakeprovider"`
	// AdminToken makes a random admin token for this run and prints it
	// once on stdout.
	AdminToken bool `yaml:"admin_token"`
}

type fakeProviderConfig struct {
	Listen    string `yaml:"listen"`     // e.g. 127.0.0.1:5090; empty: no fake provider
	UsersFile string `yaml:"users_file"` // users: [{username, password}]
	Realm     string `yaml:"realm"`      // default trunkd.test
}

// serverIndex returns the configured server index, or -1 when unset.
func (c *config) serverIndex() int {
	if c.ServerIndex == nil {
		return registry.AnyServer
	}
	return *c.ServerIndex
}

// loadConfig reads a config file strictly: unknown keys are errors.
func loadConfig(path string) (*config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg := &config{Listen: "127.0.0.1:8080", ProvidersDir: "providers"}
	cfg.Probe.Enabled = true
	if err := decodeConfig(data, cfg); err != nil {
		if ke, ok := errors.AsType[*keyError](err); ok {
			return nil, fmt.Errorf("config %s:%d: %s", path, ke.line, ke.msg)
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// decodeConfig decodes data over the defaults in cfg, refusing unknown
// keys (a *keyError names the line and suggests the key meant).
func decodeConfig(data []byte, cfg *config) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return err
	}
	if err := checkKeys(&doc, reflect.TypeOf(cfg), ""); err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// check refuses values the decoder accepts but the daemon cannot use.
func (c *config) check() error {
	if c.ServerIndex != nil && *c.ServerIndex < 0 {
		return errors.New("server_index: must not be negative")
	}
	switch strings.ToLower(c.Log.Level) {
	case "", "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level: must be debug, info, warn or error, got %q", c.Log.Level)
	}
	if f := c.Log.Format; f != "" && f != "text" && f != "json" {
		return fmt.Errorf("log.format: must be text or json, got %q", f)
	}
	if err := c.HTTP.check(); err != nil {
		return err
	}
	if c.Git != nil {
		if err := c.Git.Validate(); err != nil {
			return err
		}
	}
	return c.checkCluster()
}
