package sipcheck

import (
	"strings"
	"testing"
)

const (
	resp401 = "SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK1\r\nCall-ID: a\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n"
	respSDP = "SIP/2.0 200 OK\r\nCSeq: 2 OPTIONS\r\nl: 12\r\n\r\n\r\n\r\nbody\r\n\r\n"
)

// TestFramerFindsPongsAnywhere feeds streams cut into reads in every way:
// a CRLF between messages is a pong, a CRLF inside headers or a body is not.
func TestFramerFindsPongsAnywhere(t *testing.T) {
	for _, c := range []struct {
		name   string
		stream string
		pongs  int
	}{
		{"alone", "\r\n", 1},
		{"between two answers", resp401 + "\r\n" + resp401, 1},
		{"after an answer", resp401 + "\r\n", 1},
		{"before an answer", "\r\n" + resp401, 1},
		{"no pong", resp401 + resp401, 0},
		{"body made of CRLFs", respSDP, 0},
		{"body then pong", respSDP + "\r\n", 1},
		{"two pongs", "\r\n" + resp401 + "\r\n", 2},
	} {
		// Every way to cut the stream into two reads, and one read per byte.
		for cut := 0; cut <= len(c.stream); cut++ {
			var f framer
			if got := f.feed([]byte(c.stream[:cut])) + f.feed([]byte(c.stream[cut:])); got != c.pongs {
				t.Fatalf("%s cut at %d: %d pongs, want %d", c.name, cut, got, c.pongs)
			}
			if !f.idle() {
				t.Fatalf("%s cut at %d: not at a boundary after the stream", c.name, cut)
			}
		}
		var f framer
		got := 0
		for i := range len(c.stream) {
			got += f.feed([]byte{c.stream[i]})
		}
		if got != c.pongs {
			t.Fatalf("%s byte by byte: %d pongs, want %d", c.name, got, c.pongs)
		}
	}
}

func TestFramerInsideMessage(t *testing.T) {
	var f framer
	if n := f.feed([]byte(resp401[:40])); n != 0 || f.idle() {
		t.Fatalf("half a message: %d pongs, idle %v", n, f.idle())
	}
	if n := f.feed([]byte("X-Long: " + strings.Repeat("a", maxHeaderBytes) + "\r\n")); n != 0 || f.idle() {
		t.Fatalf("oversized header: %d pongs, idle %v", n, f.idle())
	}
	if n := f.feed([]byte("\r\n\r\n")); n != 0 {
		t.Fatalf("a stream with lost framing must report no pongs, got %d", n)
	}
}

func TestContentLength(t *testing.T) {
	for head, want := range map[string]int{
		"SIP/2.0 200 OK\r\nContent-Length: 42\r\n\r\n": 42,
		"SIP/2.0 200 OK\r\ncontent-length:7\r\n\r\n":   7,
		"SIP/2.0 200 OK\r\nl: 3\r\n\r\n":               3,
		"SIP/2.0 200 OK\r\nX-L: 9\r\n\r\n":             0,
		"SIP/2.0 200 OK\r\nContent-Length: x\r\n\r\n":  0,
	} {
		if got := contentLength([]byte(head)); got != want {
			t.Errorf("%q: %d, want %d", head, got, want)
		}
	}
}
