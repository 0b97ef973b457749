package api

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options wire the API to the rest of the daemon.
type Options struct {
	Registry Providers           // required
	Tokens   *Tokens             // nil: every /rest/v1/uc and /rest/v1/render request is a 401
	Gatherer prometheus.Gatherer // for /metrics; nil: prometheus.DefaultGatherer
	Logger   *slog.Logger
	Status   []StatusSection // more sections of /status
	Prober   Prober          // nil: no prober (the state endpoint answers 404)
	Render   Renderer        // nil: no renderer
	Confirm  DropConfirmer   // nil: the confirm endpoint answers 404
	Version  string
	// StatusAuth makes the status page / and its JSON form /status require
	// a valid token of any role (auth.status_page_requires_token).
	StatusAuth bool
	// Clock gives the time relative times on the status page are computed
	// from; nil: the real clock.
	Clock Clock
	// Reload re-reads the daemon's config (POST /rest/v1/reload, admins;
	// nil: 404).
	Reload Reloader
	// ServerIndex is the configured server_index, registry.AnyServer when
	// unset (every enabled provider is active; the zero value is index 0);
	// the status page marks the active providers.
	ServerIndex int
	// Commits makes every write a commit on a git remote (the git:
	// section); nil: writes go to the files only.
	Commits Committer
	// History lists a provider's commits (GET …/{id}/history); nil: 404.
	History History
	// Changes gives the status page each provider's last change and
	// author; nil: not shown.
	Changes Changes
	// Sync triggers a fast-forward of the git working copy (POST
	// /rest/v1/git/sync and the forges' webhooks); nil: 404.
	Sync Syncer
	// Cluster is the node's cluster (the cluster: section); nil: a single
	// node.
	Cluster Cluster
	// WebhookSecret is the shared secret of the forges' push webhooks
	// (git.webhook_secret_file); empty: the webhook endpoints answer 404.
	WebhookSecret []byte
}

// Clock tells the time.
type Clock interface{ Now() time.Time }

// realClock is the system clock.
type realClock struct{}

// Now is time.Now.
func (realClock) Now() time.Time { return time.Now() }

// methodLookup is the seed's custom method for searching ids.
const methodLookup = "LOOKUP"

func init() { chi.RegisterMethod(methodLookup) }

// server is the state the handlers share.
type server struct {
	o          Options
	reg        Providers
	log        *slog.Logger
	tokens     atomic.Pointer[Tokens]
	statusAuth atomic.Bool
	views      viewCache
}

// Handler is the daemon's HTTP handler. Its tokens and status-page
// protection can be swapped while it serves (a config reload).
type Handler struct {
	mux *chi.Mux
	s   *server
}

// New returns the daemon's HTTP handler.
func New(o Options) *Handler {
	mux, s := newRouter(o)
	return &Handler{mux: mux, s: s}
}

// ServeHTTP serves one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// SetTokens replaces the accepted tokens and client certificates; requests
// already authenticated finish under the old set.
func (h *Handler) SetTokens(t *Tokens) {
	h.s.tokens.Store(t)
	h.s.warnNoTokens()
}

// SetStatusAuth sets whether / and /status need a token
// (auth.status_page_requires_token).
func (h *Handler) SetStatusAuth(on bool) { h.s.statusAuth.Store(on) }

func (s *server) warnNoTokens() {
	if s.tokens.Load().Len() == 0 {
		s.log.Warn("no API tokens configured: every providers API request will be refused with 401")
	}
}

func newRouter(o Options) (*chi.Mux, *server) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Gatherer == nil {
		o.Gatherer = prometheus.DefaultGatherer
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	s := &server{o: o, reg: o.Registry, log: o.Logger}
	s.tokens.Store(o.Tokens)
	s.statusAuth.Store(o.StatusAuth)
	if _, err := rand.Read(s.views.etagKey[:]); err != nil {
		panic(fmt.Sprintf("api: no randomness for the ETag key: %v", err))
	}
	s.warnNoTokens()
	r := chi.NewRouter()
	r.Use(s.recoverer, middleware.GetHead)
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		r.Use(s.accessLog)
	}
	r.NotFound(s.notFound)
	r.MethodNotAllowed(s.methodNotAllowed(r))
	s.routes(r)
	return r, s
}

// routes registers every route; openapi.json must list exactly these.
func (s *server) routes(r chi.Router) {
	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	r.Group(func(r chi.Router) {
		r.Use(s.statusGuard)
		r.Get("/", s.statusPage)
		r.Get("/status", s.status)
	})
	r.Get("/metrics", promhttp.HandlerFor(s.o.Gatherer, promhttp.HandlerOpts{}).ServeHTTP)
	r.Get("/rest/v1/openapi.json", serveOpenAPI)
	r.Group(func(r chi.Router) {
		r.Use(s.authenticate)
		r.Get(collectionPath, s.list)
		r.Post(collectionPath, require(RoleWriter, s.create))
		r.Method(methodLookup, collectionPath, http.HandlerFunc(s.lookup))
		r.Get(collectionPath+"/{id}", s.get)
		r.Patch(collectionPath+"/{id}", require(RoleWriter, s.patch))
		r.Delete(collectionPath+"/{id}", require(RoleWriter, s.remove))
		r.Get(collectionPath+"/{id}/state", s.state)
		r.Get(collectionPath+"/{id}/history", s.history)
		r.Post("/rest/v1/git/sync", require(RoleWriter, s.triggerSync))
	})
	r.Post("/rest/v1/git/webhook/{forge}", s.webhook)
	r.With(s.authenticate).Post("/rest/v1/render/{target}/confirm", require(RoleAdmin, s.confirm))
	r.With(s.authenticate).Post("/rest/v1/reload", require(RoleAdmin, s.reload))
}

// statusGuard authenticates the status page and /status when
// auth.status_page_requires_token is on.
func (s *server) statusGuard(next http.Handler) http.Handler {
	auth := s.authenticate(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.statusAuth.Load() {
			auth.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *server) view() *view { return s.views.get(s.reg) }

// fail answers with the error shape; secrets are scrubbed from the message.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error, secrets ...string) {
	writeError(w, r, s.log, err, secrets...)
}

// healthz is liveness: 503 while the registry is stuck (a hung file
// system, a bug), so that a supervisor restarts a daemon whose writes and
// outside edits no longer apply; 200 otherwise.
func (s *server) healthz(w http.ResponseWriter, _ *http.Request) {
	if s.reg != nil {
		if err := s.reg.Healthy(); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "stuck", "error": err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// status reports the registry (providers, invalid files, last reload) and
// every StatusSection. It never contains a password.
func (s *server) status(w http.ResponseWriter, _ *http.Request) {
	snap := s.reg.Snapshot()
	invalid := clientInvalid(snap.Invalid())
	out := map[string]any{
		"version": s.o.Version,
		"registry": map[string]any{
			"providers_dir": s.reg.Dir(),
			"providers":     snap.Len(),
			"generation":    snap.Generation(),
			"last_reload":   s.reg.LastReload().UTC().Format(time.RFC3339Nano),
			"last_change":   snap.Built().UTC().Format(time.RFC3339Nano),
			"invalid_files": invalid,
		},
	}
	for _, src := range s.o.Status {
		out[src.StatusName()] = src
	}
	if s.o.Cluster != nil {
		out["cluster"] = s.o.Cluster.ClusterStatus()
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, errorf(http.StatusNotFound, "no such endpoint: %s (see /rest/v1/openapi.json)", r.URL.Path))
}

// methodNotAllowed answers 405 with an Allow header listing the methods
// the path does serve.
func (s *server) methodNotAllowed(mux *chi.Mux) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete, methodLookup} {
			if mux.Match(chi.NewRouteContext(), m, r.URL.Path) {
				allow = append(allow, m)
			}
			if m == http.MethodGet && len(allow) > 0 && allow[len(allow)-1] == http.MethodGet {
				allow = append(allow, http.MethodHead)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
		}
		s.fail(w, r, errorf(http.StatusMethodNotAllowed, "method %s is not allowed on %s", r.Method, r.URL.Path))
	}
}

// recoverer turns a panic into a 500 with the error shape and a log line
// with the stack, instead of a dropped connection.
func (s *server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &trackingWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic while serving a request", "method", r.Method, "path", r.URL.Path,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !rw.wrote {
				writeJSON(w, http.StatusInternalServerError, errorBody{Code: 1500, Message: "internal error: the request handler failed; see the daemon log"})
			}
		}()
		next.ServeHTTP(rw, r)
	})
}

// trackingWriter records whether the response has started.
type trackingWriter struct {
	http.ResponseWriter
	wrote  bool
	status int
}

// WriteHeader records that the response has started.
func (t *trackingWriter) WriteHeader(code int) {
	if !t.wrote {
		t.wrote, t.status = true, code
	}
	t.ResponseWriter.WriteHeader(code)
}

// Write records that the response has started.
func (t *trackingWriter) Write(b []byte) (int, error) {
	if !t.wrote {
		t.wrote, t.status = true, http.StatusOK
	}
	return t.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// accessLog logs every request at debug level (installed only when the
// logger has debug enabled).
func (s *server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		tw, ok := w.(*trackingWriter)
		if !ok {
			tw = &trackingWriter{ResponseWriter: w}
		}
		next.ServeHTTP(tw, r)
		s.log.Debug("http request", "method", r.Method, "path", r.URL.Path, "status", tw.status,
			"took", time.Since(start).Round(time.Microsecond), "remote", r.RemoteAddr)
	})
}
