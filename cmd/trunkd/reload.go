package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trunkd/trunkd/api"
)

// reloader re-reads the config file and the tokens file on SIGHUP and on
// POST /rest/v1/reload, the safe way: parse and validate both, and only
// then swap what can change while running (the tokens and client
// certificates, auth.status_page_requires_token, log.level). A file that
// fails keeps the running state; the failure is logged, shown in /status
// under "config" and in trunkd_config_last_reload_successful. Every other
// setting needs a restart: a reload that finds one changed logs which.
type reloader struct {
	load    func() (*config, error) // the config file with the command line's overrides
	log     *slog.Logger
	level   *slog.LevelVar
	handler *api.Handler
	keep    api.Token // a token made at start (the demo's), kept across reloads; zero: none
	ok      prometheus.Gauge
	okTime  prometheus.Gauge

	mu      sync.Mutex
	running *config
	status  reloadStatus
}

// reloadStatus is the "config" section of /status.
type reloadStatus struct {
	LastReload     *time.Time `json:"last_reload"`
	Successful     bool       `json:"last_reload_successful"`
	Error          string     `json:"last_error,omitempty"`
	RestartPending []string   `json:"restart_pending,omitempty"` // settings changed in the file, not yet in force
}

func newReloader(load func() (*config, error), cfg *config, level *slog.LevelVar, log *slog.Logger, reg prometheus.Registerer) (*reloader, error) {
	r := &reloader{load: load, log: log, level: level, running: cfg, status: reloadStatus{Successful: true},
		ok: prometheus.NewGauge(prometheus.GaugeOpts{Name: "trunkd_config_last_reload_successful",
			Help: "1 if the last reload of the config and tokens files succeeded (or none happened), 0 if it failed and the previous configuration stays in force."}),
		okTime: prometheus.NewGauge(prometheus.GaugeOpts{Name: "trunkd_config_last_reload_success_timestamp_seconds",
			Help: "When the config was last loaded successfully (start or reload), Unix seconds."}),
	}
	r.ok.Set(1)
	r.okTime.SetToCurrentTime()
	for _, c := range []prometheus.Collector{r.ok, r.okTime} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register config reload metrics: %w", err)
		}
	}
	return r, nil
}

// Reload re-reads both files and swaps them in, or keeps the running
// state and returns why not.
func (r *reloader) Reload(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	r.status.LastReload = &now
	cfg, tokens, err := r.parse()
	if err != nil {
		r.status.Successful, r.status.Error = false, err.Error()
		r.ok.Set(0)
		r.log.Error("config reload failed; the running configuration stays in force", "error", err)
		return err
	}
	r.handler.SetTokens(tokens)
	r.handler.SetStatusAuth(cfg.Auth.StatusPageRequiresToken)
	r.level.Set(logLevel(cfg.Log))
	r.status.RestartPending = restartOnly(r.running, cfg)
	r.running.Auth, r.running.Log.Level = cfg.Auth, cfg.Log.Level
	r.status.Successful, r.status.Error = true, ""
	r.ok.Set(1)
	r.okTime.SetToCurrentTime()
	r.log.Info("config reloaded", "tokens", tokens.Len())
	if len(r.status.RestartPending) > 0 {
		r.log.Warn("config settings changed that take effect only after a restart", "settings", strings.Join(r.status.RestartPending, ", "))
	}
	return nil
}

// parse reads and validates the config file and its tokens file.
func (r *reloader) parse() (*config, *api.Tokens, error) {
	cfg, err := r.load()
	if err != nil {
		return nil, nil, err
	}
	var tokens *api.Tokens
	if cfg.Auth.TokensFile != "" {
		if tokens, err = api.LoadTokens(cfg.Auth.TokensFile); err != nil {
			return nil, nil, err
		}
	}
	if r.keep.Name != "" {
		if tokens, err = tokens.With(r.keep); err != nil {
			return nil, nil, err
		}
	}
	return cfg, tokens, nil
}

// restartOnly names the settings that differ between old and new and are
// read only at start: every section but auth and log.level, which Reload
// swaps (a section added to config needs a restart until Reload learns it).
func restartOnly(old, new *config) []string {
	var keys []string
	o, n := reflect.ValueOf(*old), reflect.ValueOf(*new)
	for i := range o.NumField() {
		key, _, _ := strings.Cut(o.Type().Field(i).Tag.Get("yaml"), ",")
		switch {
		case key == "auth":
		case key == "log":
			if old.Log.Format != new.Log.Format {
				keys = append(keys, "log.format")
			}
		case !reflect.DeepEqual(o.Field(i).Interface(), n.Field(i).Interface()):
			keys = append(keys, key)
		}
	}
	return keys
}

// Status reports the last reload (the "config" section of /status).
func (r *reloader) Status() any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// onSIGHUP reloads on every SIGHUP until ctx ends.
func (r *reloader) onSIGHUP(ctx context.Context) error {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	defer signal.Stop(ch)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ch:
			r.log.Info("SIGHUP: reloading the config")
			// The error is logged and in /status; the daemon goes on.
			if err := r.Reload(ctx); err != nil && errors.Is(err, context.Canceled) {
				return nil
			}
		}
	}
}
