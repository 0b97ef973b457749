package registry

import (
	"fmt"
	"strings"
	"time"
)

// timestampLayout is the seed's form: UTC, two fractional digits, "Z".
const timestampLayout = "2006-01-02T15:04:05.00Z"

// Timestamp is a point in time encoded as the seed encodes it
// ("2019-08-27T08:03:14.84Z"): UTC, truncated to hundredths of a second.
type Timestamp struct{ time.Time }

// NewTimestamp truncates t to the precision a Timestamp keeps.
func NewTimestamp(t time.Time) Timestamp {
	return Timestamp{t.UTC().Truncate(10 * time.Millisecond)}
}

// String formats the timestamp in the seed's form; the zero time is "".
func (t Timestamp) String() string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Truncate(10 * time.Millisecond).Format(timestampLayout)
}

// MarshalJSON writes the seed's form, or "" for the zero time.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.String() + `"`), nil
}

// UnmarshalJSON accepts any RFC 3339 time and "".
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		*t = Timestamp{}
		return nil
	}
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return fmt.Errorf("timestamp must be a string")
	}
	v, err := ParseTimestamp(s[1 : len(s)-1])
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// ParseTimestamp parses an RFC 3339 time ("" is the zero Timestamp).
func ParseTimestamp(s string) (Timestamp, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Timestamp{}, nil
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return Timestamp{}, fmt.Errorf("not an RFC 3339 time like 2019-08-27T08:03:14.84Z")
	}
	return NewTimestamp(v), nil
}
