package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"strings"
	"sync"
	"syscall"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/trunkd/trunkd/api"
	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/sipcheck"
)

// daemon holds what the components of `trunkd serve` share while wiring.
type daemon struct {
	cfg   *config
	level *slog.LevelVar // the log level in force (a reload may change it)
	log   *slog.Logger
	prom  *prometheus.Registry
	// clock is the one clock of registry, sops, render, sipcheck and api: each
	// declares its own Clock interface, and sipcheck's (Now and AfterFunc)
	// is the widest, so a sipcheck.Clock satisfies all of them.
	clock sipcheck.Clock
	reg   *registry.Registry
	// member is the node's cluster membership (the cluster: section); nil
	// for a single node.
	member *member
	wg     sync.WaitGroup // every goroutine started by serve
	errs   chan error     // a component that stops with an error ends serve
}

// openRegistry opens the providers directory dir with the daemon's logger,
// metrics and clock.
func (d *daemon) openRegistry(dir string, secrets registry.Secrets) (*registry.Registry, error) {
	return registry.Open(registry.Options{Dir: dir, Logger: d.log, Registerer: d.prom, Secrets: secrets, Clock: d.clock})
}

// goRun starts a component goroutine owned by the daemon.
func (d *daemon) goRun(name string, fn func() error) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := fn(); err != nil {
			select {
			case d.errs <- fmt.Errorf("%s: %w", name, err):
			default:
			}
		}
	}()
}

// cmdServe runs the daemon (`trunkd serve --config FILE`) until ctx ends.
func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f serveFlags
	fs.StringVar(&f.config, "config", "", "config file (required)")
	fs.StringVar(&f.listen, "listen", "", "override the config's listen address")
	fs.StringVar(&f.providers, "providers", "", "override the config's providers_dir")
	fs.StringVar(&f.advertise, "probe-advertise", "", "override the config's probe.advertise (e.g. the pod IP from the downward API)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if f.config == "" {
		fmt.Fprintln(stderr, "trunkd serve: --config FILE is required")
		return exitUsage
	}
	cfg, err := f.load()
	if err != nil {
		fmt.Fprintln(stderr, "trunkd serve:", err)
		return exitUsage
	}
	if err := serve(ctx, cfg, f.load, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "trunkd serve:", err)
		return exitFailure
	}
	return exitOK
}

// serveFlags are serve's command line: the config file and the settings
// it overrides.
type serveFlags struct {
	config, listen, providers, advertise string
}

// load reads the config file with the command line's overrides, at start
// and on every reload.
func (f serveFlags) load() (*config, error) {
	cfg, err := loadConfig(f.config)
	if err != nil {
		return nil, err
	}
	if f.listen != "" {
		cfg.Listen = f.listen
	}
	if f.providers != "" {
		cfg.ProvidersDir = f.providers
	}
	if f.advertise != "" {
		cfg.Probe.Advertise = f.advertise
	}
	return cfg, nil
}

// serve runs the daemon until ctx ends, then stops every component: a
// cluster node first leaves the cluster, its renderer and prober still
// running so that each trunk stops here before another node registers it
// (member.leave); ctx ending during start-up stops at once. What can fail
// for a reason the operator must fix (tokens, TLS files, the listen
// address, the providers directory) is checked before anything is started
// or printed.
func serve(sig context.Context, cfg *config, load func() (*config, error), stdout, stderr io.Writer) error {
	// ctx is the components' context: it ends after the leave.
	ctx, cancel := context.WithCancel(context.WithoutCancel(sig))
	defer cancel()
	starting := context.AfterFunc(sig, cancel)
	d := newDaemon(cfg, stderr)
	// Stop and wait for every component on every return, also when start-up
	// fails after some of them started (cancel first, or Wait never ends).
	defer func() {
		cancel()
		d.wg.Wait()
		d.member.close()
	}()
	opts, secrets, err := d.apiOptions()
	if err != nil {
		return err
	}
	web, err := listenHTTP(cfg, d.log)
	if err != nil {
		return err
	}
	defer web.ln.Close()
	if d.member, err = openCluster(d); err != nil {
		return err
	}
	if err := d.start(ctx, secrets, opts, load, web, stdout); err != nil {
		return err
	}
	starting()
	err = d.wait(sig)
	d.member.leave(ctx)
	return err
}

// start starts the registry, the consumers, the cluster membership and
// the API, in this order, on ctx. The demo's lines (its admin token above
// all) are printed only once every component started: a run that fails
// prints none.
func (d *daemon) start(ctx context.Context, secrets registry.Secrets, opts api.Options,
	load func() (*config, error), web webSetup, stdout io.Writer) error {
	if err := d.startRegistry(ctx, secrets, &opts); err != nil {
		return err
	}
	var demoOut bytes.Buffer
	if err := d.startConsumers(ctx, &demoOut, &opts); err != nil {
		return err
	}
	d.member.start(ctx, &opts)
	if err := d.startAPI(ctx, load, web, opts); err != nil {
		return err
	}
	d.announce(stdout, web, &demoOut)
	return nil
}

// newDaemon makes the daemon's logger (at the config's level, which a
// reload may change), metrics registry and clock.
func newDaemon(cfg *config, stderr io.Writer) *daemon {
	level := new(slog.LevelVar)
	level.Set(logLevel(cfg.Log))
	d := &daemon{cfg: cfg, level: level, log: newLoggerAt(cfg.Log, level, stderr), prom: prometheus.NewRegistry(),
		clock: sipcheck.RealClock{}, errs: make(chan error, 1)}
	d.prom.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// sipgo logs some events through its package default; route them to our
	// logger before any SIP component starts (setting it later races).
	sip.SetDefaultLogger(d.log.With("component", "sipgo"))
	return d
}

// apiOptions starts the API's options from the config and reads the
// secrets setting and the tokens file, so that a mistake in either stops
// the start before anything listens.
func (d *daemon) apiOptions() (api.Options, registry.Secrets, error) {
	cfg := d.cfg
	opts := api.Options{Gatherer: d.prom, Logger: d.log, Version: version, Clock: d.clock,
		StatusAuth: cfg.Auth.StatusPageRequiresToken, ServerIndex: cfg.serverIndex()}
	secrets, err := newSecrets(cfg.Secrets, cfg.Git != nil, d.clock)
	if err != nil {
		return opts, nil, err
	}
	if cfg.Auth.TokensFile != "" {
		if opts.Tokens, err = api.LoadTokens(cfg.Auth.TokensFile); err != nil {
			return opts, nil, err
		}
	}
	return opts, secrets, nil
}

// startRegistry opens the git working copy (if configured) and the
// registry on it, and starts the watcher and the git follower.
func (d *daemon) startRegistry(ctx context.Context, secrets registry.Secrets, opts *api.Options) error {
	git, err := openGit(ctx, d)
	if err != nil {
		return err
	}
	reg, err := d.openRegistry(git.dir(d.cfg.ProvidersDir), secrets)
	if err != nil {
		return err
	}
	d.reg, opts.Registry = reg, reg
	d.goRun("watcher", func() error { return reg.Watch(ctx) })
	if git != nil {
		git.start(ctx, reg, opts)
	}
	return nil
}

// startConsumers starts what reads the registry's snapshots: the demo's
// fake provider (before the prober, so its first checks find it), the
// renderer and the prober. The demo's lines go to demoOut.
func (d *daemon) startConsumers(ctx context.Context, demoOut io.Writer, opts *api.Options) error {
	if err := startDemo(ctx, d, demoOut, opts); err != nil {
		return err
	}
	if err := startRender(ctx, d, opts); err != nil {
		return err
	}
	return startProbe(ctx, d, opts)
}

// startAPI builds the config reloader and the API handler on opts, and
// serves it on web; SIGHUP reloads the config.
func (d *daemon) startAPI(ctx context.Context, load func() (*config, error), web webSetup, opts api.Options) error {
	rl, err := newReloader(load, d.cfg, d.level, d.log, d.prom)
	if err != nil {
		return err
	}
	rl.keep, _ = opts.Tokens.Named(demoTokenName)
	opts.Reload = rl
	opts.Status = append(opts.Status, section{"config", rl.Status})
	rl.handler = api.New(opts)
	d.goRun("sighup", func() error { return rl.onSIGHUP(ctx) })
	hs := api.NewHTTPServer(rl.handler, web.limits, web.tls, d.log)
	d.goRun("http", func() error { return hs.Serve(ctx, web.ln) })
	return nil
}

// announce logs the start and prints the demo's lines and the API's
// address on stdout.
func (d *daemon) announce(stdout io.Writer, web webSetup, demoOut *bytes.Buffer) {
	d.log.Info("trunkd serving", "listen", web.ln.Addr().String(), "providers_dir", d.reg.Dir(),
		"providers", d.reg.Snapshot().Len(), "version", version)
	_, _ = demoOut.WriteTo(stdout)
	scheme := "http"
	if web.tls != nil {
		scheme = "https"
	}
	fmt.Fprintf(stdout, "trunkd listening on %s://%s\n", scheme, web.ln.Addr())
}

// wait blocks until ctx ends (nil) or a component stops with an error.
func (d *daemon) wait(ctx context.Context) error {
	var err error
	select {
	case <-ctx.Done():
	case err = <-d.errs:
	}
	d.log.Info("trunkd shutting down")
	return err
}

// webSetup is what the API's server is built from.
type webSetup struct {
	ln     net.Listener
	tls    *tls.Config // nil: plain HTTP
	limits api.Limits
}

// listenHTTP reads the TLS files, opens the API's listener and sets the
// config's limits (the connection bound fitted to the open-file limit).
func listenHTTP(cfg *config, log *slog.Logger) (webSetup, error) {
	limits := cfg.HTTP.limits()
	if limits.MaxConns == 0 {
		limits.MaxConns = api.DefaultLimits.MaxConns
	}
	if fit := fileLimit(log) - reservedFiles; limits.MaxConns > fit {
		log.Warn("http.max_connections lowered to fit the open-file limit (RLIMIT_NOFILE)",
			"configured", limits.MaxConns, "used", fit)
		limits.MaxConns = max(fit, 16)
	}
	var tlsCfg *tls.Config
	if t := cfg.HTTP.TLS; t.CertFile != "" {
		var err error
		tlsCfg, err = api.TLSConfig(api.TLSFiles{CertFile: t.CertFile, KeyFile: t.KeyFile, ClientCAFile: t.ClientCAFile}, log)
		if err != nil {
			return webSetup{}, err
		}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return webSetup{}, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	return webSetup{ln: ln, tls: tlsCfg, limits: limits}, nil
}

// reservedFiles are the file descriptors kept for everything but HTTP
// clients: provider files, the watcher, SIP sockets, engine commands.
const reservedFiles = 256

// fileLimit raises the soft open-file limit to the hard one (the Go runtime
// does so too since Go 1.19; this makes it explicit and visible) and
// returns the soft limit in force.
func fileLimit(log *slog.Logger) int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return math.MaxInt32
	}
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
			log.Warn("cannot raise the open-file limit", "soft", lim.Cur, "hard", lim.Max, "error", err)
		} else {
			lim = raised
		}
	}
	if lim.Cur > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(lim.Cur)
}

// newLogger returns a logger at the config's level and in its format.
func newLogger(c logConfig, w io.Writer) *slog.Logger {
	level := new(slog.LevelVar)
	level.Set(logLevel(c))
	return newLoggerAt(c, level, w)
}

// newLoggerAt returns the daemon's logger at level (which a reload may
// change) in the config's format.
func newLoggerAt(c logConfig, level *slog.LevelVar, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// logLevel is the config's log.level (validated by loadConfig).
func logLevel(c logConfig) slog.Level {
	level := slog.LevelInfo
	_ = level.UnmarshalText([]byte(strings.ToUpper(c.Level)))
	return level
}
