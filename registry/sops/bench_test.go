package sops

import (
	"os"
	"testing"
	"time"

	"filippo.io/age"
)

// BenchmarkDecrypt and BenchmarkEncrypt: one provider file (the Oktell
// example) read and written through the codec's paths.
func BenchmarkDecrypt(b *testing.B) {
	id, rs, plain := benchFile(b)
	enc, err := Encrypt("p.yaml", plain, rs, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := Decrypt("p.yaml", enc, []age.Identity{id}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncrypt(b *testing.B) {
	_, rs, plain := benchFile(b)
	b.ResetTimer()
	for range b.N {
		if _, err := Encrypt("p.yaml", plain, rs, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

func benchFile(b *testing.B) (age.Identity, []Recipient, []byte) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		b.Fatal(err)
	}
	rs, err := ParseRecipients([]string{id.Recipient().String()})
	if err != nil {
		b.Fatal(err)
	}
	plain, err := os.ReadFile("../../examples/providers/Oktell.yaml")
	if err != nil {
		b.Fatal(err)
	}
	return id, rs, plain
}

// BenchmarkParse is the YAML parse alone, the baseline of the two above.
func BenchmarkParse(b *testing.B) {
	_, _, plain := benchFile(b)
	b.ResetTimer()
	for range b.N {
		if _, err := parseDocument("p.yaml", plain); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodePlaintext: what the codec costs a plaintext file (the
// registry sends every changed file through it).
func BenchmarkDecodePlaintext(b *testing.B) {
	_, _, plain := benchFile(b)
	c, err := New(Config{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := c.Decode("p.yaml", plain); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodePlaintextAllowed: what the codec costs an API write on a
// plain directory (allow_plaintext, no recipients, nothing encrypted).
func BenchmarkEncodePlaintextAllowed(b *testing.B) {
	_, _, plain := benchFile(b)
	c, err := New(Config{AllowPlaintext: true}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := c.Encode("p.yaml", plain, plain); err != nil {
			b.Fatal(err)
		}
	}
}
