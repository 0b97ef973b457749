package api

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Role is what a token may do: readers read, writers also create, change
// and delete, admins also see passwords and confirm held renders.
type Role int

// The roles, each allowed everything the lower ones are.
const (
	RoleReader Role = iota + 1
	RoleWriter
	RoleAdmin
)

// String is the role's name in the tokens file.
func (r Role) String() string {
	switch r {
	case RoleReader:
		return "reader"
	case RoleWriter:
		return "writer"
	case RoleAdmin:
		return "admin"
	}
	return "none"
}

func parseRole(s string) (Role, bool) {
	for _, r := range []Role{RoleReader, RoleWriter, RoleAdmin} {
		if s == r.String() {
			return r, true
		}
	}
	return 0, false
}

// Token is one API client: a name for the logs, a role and the sha256 of
// its secret (the secret itself is never stored).
type Token struct {
	Name   string
	Role   Role
	SHA256 [sha256.Size]byte
}

// Tokens is the set of accepted bearer tokens and client certificates.
type Tokens struct {
	list  []Token
	certs map[string]Token // by subject common name; SHA256 unused
}

// NewTokens builds a token set; names must be unique and non-empty.
func NewTokens(list []Token) (*Tokens, error) {
	seen := map[string]bool{}
	hashes := map[[sha256.Size]byte]bool{}
	for _, t := range list {
		switch {
		case t.Name == "":
			return nil, errors.New("a token has no name")
		case seen[t.Name]:
			return nil, fmt.Errorf("token %q: name used twice", t.Name)
		case hashes[t.SHA256]:
			return nil, fmt.Errorf("token %q: same sha256 as another token", t.Name)
		case t.Role < RoleReader || t.Role > RoleAdmin:
			return nil, fmt.Errorf("token %q: no role", t.Name)
		}
		seen[t.Name], hashes[t.SHA256] = true, true
	}
	return &Tokens{list: append([]Token(nil), list...)}, nil
}

// tokensFile is the YAML layout of DESIGN.md §3, plus the client
// certificates (http.tls.client_ca_file) that authenticate by their
// subject common name.
type tokensFile struct {
	Tokens []struct {
		Name   string `yaml:"name"`
		Role   string `yaml:"role"`
		SHA256 string `yaml:"sha256"`
	} `yaml:"tokens"`
	Certificates []struct {
		Name       string `yaml:"name"`
		Role       string `yaml:"role"`
		CommonName string `yaml:"common_name"`
	} `yaml:"certificates"`
}

// LoadTokens reads a tokens file: `tokens: [{name, role, sha256}]` with
// the hex sha256 of each token. Unknown keys, unknown roles, malformed
// hashes and duplicate names are errors.
func LoadTokens(path string) (*Tokens, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read tokens file: %w", err)
	}
	var f tokensFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("tokens file %s: %w", path, err)
	}
	ts, err := f.build()
	if err != nil {
		return nil, fmt.Errorf("tokens file %s: %w", path, err)
	}
	return ts, nil
}

// build checks the file's entries and makes its Tokens.
func (f *tokensFile) build() (*Tokens, error) {
	list := make([]Token, 0, len(f.Tokens))
	for i, t := range f.Tokens {
		role, ok := parseRole(t.Role)
		if !ok {
			return nil, fmt.Errorf("token %d (%q): role must be admin, writer or reader, got %q", i+1, t.Name, t.Role)
		}
		sum, err := hex.DecodeString(strings.TrimSpace(t.SHA256))
		if err != nil || len(sum) != sha256.Size {
			return nil, fmt.Errorf("token %d (%q): sha256 must be 64 hex digits (echo -n TOKEN | sha256sum)", i+1, t.Name)
		}
		tok := Token{Name: t.Name, Role: role}
		copy(tok.SHA256[:], sum)
		list = append(list, tok)
	}
	ts, err := NewTokens(list)
	if err != nil {
		return nil, err
	}
	ts.certs, err = f.certificates()
	return ts, err
}

// certificates maps the file's client certificate common names to their
// entries.
func (f *tokensFile) certificates() (map[string]Token, error) {
	certs := map[string]Token{}
	for i, c := range f.Certificates {
		role, ok := parseRole(c.Role)
		switch {
		case !ok:
			return nil, fmt.Errorf("certificate %d (%q): role must be admin, writer or reader, got %q", i+1, c.Name, c.Role)
		case c.Name == "" || c.CommonName == "":
			return nil, fmt.Errorf("certificate %d: name and common_name are required", i+1)
		case certs[c.CommonName].Name != "":
			return nil, fmt.Errorf("certificate %d (%q): common_name %q used twice", i+1, c.Name, c.CommonName)
		}
		certs[c.CommonName] = Token{Name: c.Name, Role: role}
	}
	return certs, nil
}

// certificate returns the entry for a verified client certificate's
// subject common name.
func (ts *Tokens) certificate(commonName string) (Token, bool) {
	if ts == nil || commonName == "" {
		return Token{}, false
	}
	t, ok := ts.certs[commonName]
	return t, ok
}

// Len is the number of tokens.
func (ts *Tokens) Len() int {
	if ts == nil {
		return 0
	}
	return len(ts.list)
}

// match returns the token whose hash is sha256(secret). Every stored hash
// is compared in constant time, so timing tells nothing about which one
// matched or how close a guess was.
func (ts *Tokens) match(secret string) (Token, bool) {
	if ts == nil {
		return Token{}, false
	}
	sum := sha256.Sum256([]byte(secret))
	found := -1
	for i := range ts.list {
		if subtle.ConstantTimeCompare(sum[:], ts.list[i].SHA256[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return Token{}, false
	}
	return ts.list[found], true
}

// Named returns the token called name.
func (ts *Tokens) Named(name string) (Token, bool) {
	if ts != nil {
		for _, t := range ts.list {
			if t.Name == name {
				return t, true
			}
		}
	}
	return Token{}, false
}

// With returns a copy of ts with one more token (nil ts is empty): for a
// token made at start, such as the demo run's admin token.
func (ts *Tokens) With(t Token) (*Tokens, error) {
	var list []Token
	if ts != nil {
		list = ts.list
	}
	out, err := NewTokens(append(append([]Token(nil), list...), t))
	if err == nil && ts != nil {
		out.certs = ts.certs
	}
	return out, err
}
