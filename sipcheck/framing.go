package sipcheck

import (
	"bytes"
	"strconv"
)

// maxHeaderBytes bounds the header block a framer buffers while looking for
// its end; sipgo closes a connection whose message exceeds its own limit.
const maxHeaderBytes = 64 << 10

// framer follows the SIP framing of one TCP or TLS byte stream (RFC 3261
// §7.5 and §18.3: a header block up to an empty line, then Content-Length
// bytes of body) to find CRLF keep-alive pongs (RFC 5626 §4.4.1): a CRLF
// between two messages. A read is whatever TCP delivers, so a pong may come
// alone, before, after or between SIP messages, or split across reads.
// The zero value is a stream at a message boundary.
type framer struct {
	head   []byte // header bytes of the current message so far
	inHead bool   // inside a header block
	body   int    // body bytes still to skip
	cr     bool   // a CR at a boundary waits for its LF
	lost   bool   // the header block overran maxHeaderBytes: framing lost
}

// feed consumes one read and returns the number of CRLFs it found between
// messages. A peer's own double-CRLF ping counts twice; either way the peer
// is alive.
func (f *framer) feed(data []byte) (pongs int) {
	for len(data) > 0 && !f.lost {
		switch {
		case f.body > 0:
			n := min(f.body, len(data))
			f.body -= n
			data = data[n:]
		case f.inHead:
			data = f.feedHead(data)
		case f.cr:
			f.cr = false
			if data[0] == '\n' {
				pongs++
				data = data[1:]
			} else {
				f.inHead, f.head = true, append(f.head[:0], '\r')
			}
		case data[0] == '\r' && len(data) == 1:
			f.cr = true
			data = data[1:]
		case data[0] == '\r' && data[1] == '\n':
			pongs++
			data = data[2:]
		default:
			f.inHead, f.head = true, f.head[:0]
		}
	}
	return pongs
}

// idle reports whether the stream is at a message boundary with nothing
// buffered: such a framer equals a new one.
func (f *framer) idle() bool { return !f.inHead && f.body == 0 && !f.cr && !f.lost }

// feedHead appends header bytes until the empty line that ends the block,
// then sets the body length; it returns what follows the block.
func (f *framer) feedHead(data []byte) []byte {
	// The end marker may straddle reads: search from 3 bytes back.
	from := max(len(f.head)-3, 0)
	f.head = append(f.head, data...)
	i := bytes.Index(f.head[from:], []byte("\r\n\r\n"))
	if i < 0 {
		if len(f.head) > maxHeaderBytes {
			f.lost, f.head = true, nil
		}
		return nil
	}
	end := from + i + 4
	rest := data[len(data)-(len(f.head)-end):]
	f.body = contentLength(f.head[:end])
	f.inHead, f.head = false, f.head[:0]
	return rest
}

// contentLength reads Content-Length (or its compact form l) from a header
// block; 0 when absent or not a number (sipgo then drops the connection).
func contentLength(head []byte) int {
	for _, line := range bytes.Split(head, []byte("\r\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		if bytes.EqualFold(name, []byte("Content-Length")) || bytes.EqualFold(name, []byte("l")) {
			n, err := strconv.Atoi(string(bytes.TrimSpace(value)))
			if err != nil || n < 0 {
				return 0
			}
			return n
		}
	}
	return 0
}
