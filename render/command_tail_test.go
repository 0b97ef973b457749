package render

import (
	"strings"
	"testing"
)

// TestTailBufferDropsCutLine: a password cut in half at the start of the
// kept output is dropped with its line, never shown half unmasked.
func TestTailBufferDropsCutLine(t *testing.T) {
	b := &tailBuffer{max: 20}
	b.Write([]byte("password=hunter2secret\nok line\n"))
	got := b.String()
	if strings.Contains(got, "secret") || got != "…ok line\n" {
		t.Errorf("kept %q", got)
	}
	b = &tailBuffer{max: 5}
	b.Write([]byte("one long line without end"))
	if got := b.String(); got != "…" {
		t.Errorf("kept %q", got)
	}
	b = &tailBuffer{max: 100}
	b.Write([]byte("short\n"))
	if got := b.String(); got != "short\n" {
		t.Errorf("kept %q", got)
	}
}
