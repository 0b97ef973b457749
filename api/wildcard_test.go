package api

import (
	"context"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestWildcardAgreesWithRegexp compares the matcher with an independent
// translation to a regular expression on many random short patterns and
// values over a small alphabet, where every corner (empty segments, a star
// at either end, ? next to *, overlapping candidates) comes up often.
func TestWildcardAgreesWithRegexp(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(alphabet []string, n int) string {
		var b strings.Builder
		for range n {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	for range 200000 {
		pattern := pick([]string{"a", "b", "é", "*", "?", `\*`, `\?`}, rng.IntN(8))
		value := pick([]string{"a", "b", "é", "*", "?"}, rng.IntN(10))
		w, err := compileWildcard(pattern)
		if err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile("^(?s:" + wildcardRegexp(pattern) + ")$")
		if got, want := w.match(value), re.MatchString(value); got != want {
			t.Fatalf("pattern %q on %q: %v, regexp says %v", pattern, value, got, want)
		}
	}
}

// TestWildcardLongSegments checks the multi-word Shift-And tables: a
// segment with ? longer than 64 characters, found late in a long value.
func TestWildcardLongSegments(t *testing.T) {
	seg := strings.Repeat("a?", 70) + "b" // 141 characters
	value := strings.Repeat("a", 5000) + strings.Repeat("ax", 70) + "b" + "tail"
	for _, c := range []struct {
		pattern string
		want    bool
	}{
		{"*" + seg + "*", true},
		{"*" + seg + "tail", true},
		{"*" + seg + "x*", false},
		{"a*" + strings.Repeat("?", 200) + "*tail", true},
	} {
		w, err := compileWildcard(c.pattern)
		if err != nil {
			t.Fatal(err)
		}
		if got := w.match(value); got != c.want {
			t.Errorf("pattern of %d characters: %v, want %v", len(c.pattern), got, c.want)
		}
	}
}

// TestWildcardWorstCaseIsLinear runs the patterns that cost the old
// backtracking matcher pattern × value steps on a 1,000,000-character value.
func TestWildcardWorstCaseIsLinear(t *testing.T) {
	value := strings.Repeat("a", 1_000_000)
	for _, pattern := range []string{
		"*" + strings.Repeat("a", maxLikePattern-3) + "b*",
		"*" + strings.Repeat("a?", (maxLikePattern-3)/2) + "b*",
		strings.Repeat("*a", maxLikePattern/2-2) + "*b*",
	} {
		w, err := compileWildcard(pattern)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if w.match(value) {
			t.Fatal("matched a value without b")
		}
		took := time.Since(start)
		t.Logf("pattern %.12q… (%d characters) on 1,000,000 characters: %v", pattern, len(pattern), took)
		// The backtracking matcher needed ~10^9 steps here (seconds);
		// a linear pass is ~10^7. 2 s leaves room for a loaded machine.
		if took > 2*time.Second {
			t.Errorf("took %v: not linear", took)
		}
	}
	if _, err := compileWildcard("*" + strings.Repeat("a", 6000) + "b"); err == nil {
		t.Error("a 6,000-character pattern was accepted")
	}
}

// TestListStopsWhenClientLeaves cancels a list request's context and
// checks that the filter work stops instead of scanning every provider,
// and that the cut-short result is not cached.
func TestListStopsWhenClientLeaves(t *testing.T) {
	e := newEnv(t, nil)
	v := newView(e.reg.Snapshot(), nil, new([32]byte))
	fl, err := parseFilter(`{"code":{"$like":"*"}}`)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := v.matching(ctx, "k", fl, nil); err == nil {
		t.Fatal("matching went on after the request was cancelled")
	}
	if m, err := v.matching(context.Background(), "k", fl, nil); err != nil || len(m) != 2 {
		t.Fatalf("after a cancelled run: %d matches, %v; want 2 (nothing cached from the cancelled run)", len(m), err)
	}
}
