package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/trunkd/trunkd/api"
	"github.com/trunkd/trunkd/registry"
)

// daemon holds what the components of `trunkd serve` share while wiring.
type daemon struct {
	cfg  *config
	log  *slog.Logger
	prom *prometheus.Registry
	reg  *registry.Registry
	wg   sync.WaitGroup // every goroutine started by serve
	errs chan error     // a component that stops with an error ends serve
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

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "config file (required)")
	listen := fs.String("listen", "", "override the config's listen address")
	providers := fs.String("providers", "", "override the config's providers_dir")
	advertise := fs.String("probe-advertise", "", "override the config's probe.advertise (e.g. the pod IP from the downward API)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cfgPath == "" {
		fmt.Fprintln(stderr, "trunkd serve: --config FILE is required")
		return 2
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "trunkd serve:", err)
		return 2
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	if *providers != "" {
		cfg.ProvidersDir = *providers
	}
	if *advertise != "" {
		cfg.Probe.Advertise = *advertise
	}
	if err := serve(ctx, cfg, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "trunkd serve:", err)
		return 1
	}
	return 0
}

// serve runs the daemon until ctx ends, then stops every component.
func serve(ctx context.Context, cfg *config, stdout, stderr io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d := &daemon{cfg: cfg, log: newLogger(cfg.Log, stderr), prom: prometheus.NewRegistry(), errs: make(chan error, 1)}
	d.prom.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// sipgo logs some events through its package default; route them to our
	// logger before any SIP component starts (setting it later races).
	sip.SetDefaultLogger(d.log.With("component", "sipgo"))
	// Stop and wait for every component on every return, also when start-up
	// fails after some of them started (cancel first, or Wait never ends).
	defer func() {
		cancel()
		d.wg.Wait()
	}()
	secrets, err := newSecrets(cfg.Secrets)
	if err != nil {
		return err
	}
	reg, err := registry.Open(registry.Options{Dir: cfg.ProvidersDir, Logger: d.log, Registerer: d.prom, Secrets: secrets})
	if err != nil {
		return err
	}
	d.reg = reg
	d.goRun("watcher", func() error { return reg.Watch(ctx) })
	opts := api.Options{Registry: reg, Gatherer: d.prom, Logger: d.log, Version: version}
	if cfg.Auth.TokensFile != "" {
		if opts.Tokens, err = api.LoadTokens(cfg.Auth.TokensFile); err != nil {
			return err
		}
	}
	opts.StatusAuth = cfg.Auth.StatusPageRequiresToken
	opts.ServerIndex = cfg.ServerIndex
	if err := startDemo(ctx, d, stdout, &opts); err != nil {
		return err
	}
	if err := startRender(ctx, d, &opts); err != nil {
		return err
	}
	if err := startProbe(ctx, d, &opts); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	srv := &http.Server{Handler: api.New(opts), ReadHeaderTimeout: 10 * time.Second}
	d.goRun("http", func() error {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	d.log.Info("trunkd serving", "listen", ln.Addr().String(), "providers_dir", cfg.ProvidersDir,
		"providers", reg.Snapshot().Len(), "version", version)
	fmt.Fprintf(stdout, "trunkd listening on http://%s\n", ln.Addr())
	select {
	case <-ctx.Done():
		err = nil
	case err = <-d.errs:
	}
	d.log.Info("trunkd shutting down")
	cancel()
	shutCtx, shutCancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer shutCancel()
	_ = srv.Shutdown(shutCtx)
	return err
}

func newLogger(c logConfig, w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	_ = level.UnmarshalText([]byte(strings.ToUpper(c.Level)))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
