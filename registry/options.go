package registry

import (
	"cmp"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Registry. Zero values take the defaults.
type Options struct {
	Dir        string                // the providers directory
	Logger     *slog.Logger          // nil: slog.Default()
	Registerer prometheus.Registerer // nil: metrics are not registered
	Debounce   time.Duration         // quiet window after a plain write event, default 250 ms
	MaxWait    time.Duration         // longest wait under constant churn, default 2 s
	Resync     time.Duration         // backstop rescan period, default 60 s
	StuckAfter time.Duration         // Healthy fails when the lock is held longer, default DefaultStuckAfter
	Clock      Clock                 // nil: the real clock
	Secrets    Secrets               // nil: provider files are plaintext
}

// Secrets turns a stored provider file into the plaintext the registry
// parses (Decode), and a written plaintext into what is stored (Encode;
// stored is the file as it is now, nil for a new one): SOPS-encrypted
// passwords, registry/sops's Codec. Errors name the file, never a value;
// a *sops.Error about a file's content carries its line and kind (see
// secrets.go for what each kind becomes).
type Secrets interface {
	Decode(name string, data []byte) ([]byte, error)
	Encode(name string, plain, stored []byte) ([]byte, error)
}

// Clock is the registry's source of time (ext times, snapshot times,
// health). A test injects its own.
type Clock interface{ Now() time.Time }

// ClockFunc adapts a function to Clock.
type ClockFunc func() time.Time

// Now calls f.
func (f ClockFunc) Now() time.Time { return f() }

// saveSettle is the quiet window after a finished save or removal.
const saveSettle = 10 * time.Millisecond

// DefaultStuckAfter is how long a rescan or a write may hold the registry
// before Healthy reports it stuck. A rescan of 10,000 files takes about a
// second on two busy cores; a write a few fsyncs.
const DefaultStuckAfter = 30 * time.Second

func (o Options) withDefaults() Options {
	o.Logger = cmp.Or(o.Logger, slog.Default())
	if o.Clock == nil {
		o.Clock = ClockFunc(time.Now)
	}
	if o.Debounce <= 0 {
		o.Debounce = 250 * time.Millisecond
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 2 * time.Second
	}
	if o.Resync <= 0 {
		o.Resync = 60 * time.Second
	}
	if o.StuckAfter <= 0 {
		o.StuckAfter = DefaultStuckAfter
	}
	return o
}
