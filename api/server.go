package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/trunkd/trunkd/registry"
)

// Options wire the API to the rest of the daemon.
type Options struct {
	Registry *registry.Registry
	Gatherer prometheus.Gatherer // for /metrics; nil: prometheus.DefaultGatherer
	Logger   *slog.Logger
	Status   []StatusSource
	States   StateSource   // nil: the state endpoint answers 404
	Confirm  DropConfirmer // nil: the confirm endpoint answers 404
	Version  string
}

// New returns the daemon's HTTP handler.
func New(o Options) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Gatherer == nil {
		o.Gatherer = prometheus.DefaultGatherer
	}
	r := chi.NewRouter()
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Get("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if o.Registry == nil || o.Registry.Snapshot() == nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "loading"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	r.Get("/status", o.status)
	r.Handle("/metrics", promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{}))
	return r
}

// status reports the registry (providers, invalid files, last reload) and
// every StatusSource. It never contains a password.
func (o Options) status(w http.ResponseWriter, _ *http.Request) {
	s := o.Registry.Snapshot()
	invalid := s.Invalid()
	if invalid == nil {
		invalid = []registry.FileProblems{}
	}
	out := map[string]any{
		"version": o.Version,
		"registry": map[string]any{
			"providers_dir": o.Registry.Dir(),
			"providers":     s.Len(),
			"generation":    s.Generation(),
			"last_reload":   o.Registry.LastReload().UTC().Format(time.RFC3339Nano),
			"last_change":   s.Built().UTC().Format(time.RFC3339Nano),
			"invalid_files": invalid,
		},
	}
	for _, src := range o.Status {
		out[src.StatusName()] = src.Status()
	}
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
