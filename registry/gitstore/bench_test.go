package gitstore

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// BenchmarkCommit: one write (apply, commit, push to a file:// remote) per
// op, by three authors in turn; afterwards the remote holds exactly one
// commit per op with its author.
func BenchmarkCommit(b *testing.B) {
	rem := newRemote(b)
	r, _ := openRepo(b, rem.url, filepath.Join(b.TempDir(), "wc"), nil)
	authors := []string{"ops", "crm", "billing"}
	before := strings.Count(gitRun(b, rem.bare, "log", "--format=%h", "main"), "\n") + 1
	b.ResetTimer()
	for i := range b.N {
		a := Signature{Name: authors[i%3], Email: authors[i%3] + "@trunkd"}
		if _, err := r.Commit(context.Background(), a, writeFile(r, fmt.Sprintf("p%d.yaml", i), "x\n", "write")); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	log := strings.Split(gitRun(b, rem.bare, "log", "--format=%an", "main"), "\n")
	if len(log) != before+b.N {
		b.Fatalf("%d commits on the remote, want %d", len(log), before+b.N)
	}
	for i, a := range log[:b.N] { // newest first
		if want := authors[(b.N-1-i)%3]; a != want {
			b.Fatalf("commit %d by %s, want %s", i, a, want)
		}
	}
}

// BenchmarkFollow: how long a write of one trunkd takes to reach a second
// trunkd following the same remote, with the trigger (what a webhook does)
// and by polling alone (poll 1s: up to one interval, the writes here fall
// just after a tick, so nearly all of it). Reports
// p50 and p90; run with -benchtime=20x for stable figures.
func BenchmarkFollow(b *testing.B) {
	for _, mode := range []struct {
		name    string
		poll    time.Duration
		trigger bool
	}{{"trigger", time.Hour, true}, {"poll-1s", time.Second, false}} {
		b.Run(mode.name, func(b *testing.B) {
			rem := newRemote(b)
			writer, _ := openRepo(b, rem.url, filepath.Join(b.TempDir(), "a"), nil)
			synced := make(chan string, 100)
			follower, _ := openRepo(b, rem.url, filepath.Join(b.TempDir(), "b"), func(c *Config, o *Options) {
				c.Poll = mode.poll
				o.OnSync = func(h string) { synced <- h }
			})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- follower.Run(ctx) }()
			defer func() { cancel(); <-done }()
			var lat []time.Duration
			b.ResetTimer()
			for i := range b.N {
				sha, err := writer.Commit(ctx, Signature{Name: "ops"}, writeFile(writer, fmt.Sprintf("p%d.yaml", i), "x\n", "write"))
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				if mode.trigger {
					follower.Trigger()
				}
				for h := range synced {
					if h == sha {
						break
					}
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*9/10].Microseconds())/1000, "p90-ms")
		})
	}
}
