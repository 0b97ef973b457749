package sops

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"filippo.io/age"
)

// Config is the `secrets:` section of the trunkd configuration.
type Config struct {
	// AgeIdentityFile holds the age identities trunkd decrypts with; empty:
	// where the sops tool looks (SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, keys.txt).
	AgeIdentityFile string `yaml:"age_identity_file"`
	// AgeRecipients are the public keys a written pwd is encrypted for.
	AgeRecipients []string `yaml:"age_recipients"`
	// AllowPlaintext lets a write store pwd in clear when there is no
	// recipient (cmd/trunkd sets it when there is no `git:` section: a
	// plain directory works as it always did).
	AllowPlaintext bool `yaml:"allow_plaintext"`
}

// Clock is the codec's source of time (the sops section's lastmodified).
type Clock interface{ Now() time.Time }

// realClock is time.Now.
type realClock struct{}

// Now is time.Now.
func (realClock) Now() time.Time { return time.Now() }

// ErrPlaintextRefused: a write would store a password in clear.
var ErrPlaintextRefused = errors.New("pwd would be stored in clear: set secrets.age_recipients (or secrets.allow_plaintext: true)")

// Codec turns a stored provider file into the plaintext the registry
// parses (Decode) and the plaintext the registry writes into what is
// stored (Encode). It is safe for concurrent use.
type Codec struct {
	ids            []age.Identity
	idsErr         error // why there is no identity: reported per encrypted file
	recipients     []Recipient
	allowPlaintext bool
	clock          Clock
}

// New loads the identities and parses the recipients of cfg. Only a
// configured identity file that cannot be read fails; an identity missing
// or broken where the sops tool looks is reported by each encrypted file,
// so that plaintext files work whatever the environment holds. clock
// gives the sops section's lastmodified (nil: the real clock).
func New(cfg Config, clock Clock) (*Codec, error) {
	rs, err := ParseRecipients(cfg.AgeRecipients)
	if err != nil {
		return nil, err
	}
	ids, idsErr := LoadIdentities(cfg.AgeIdentityFile)
	if idsErr != nil && cfg.AgeIdentityFile != "" {
		return nil, fmt.Errorf("secrets.age_identity_file: %w", idsErr)
	}
	if clock == nil {
		clock = realClock{}
	}
	return &Codec{ids: ids, idsErr: idsErr, recipients: rs, allowPlaintext: cfg.AllowPlaintext, clock: clock}, nil
}

// Decode returns the plaintext of a stored file: decrypted when it is a
// sops file, as it is otherwise.
func (c *Codec) Decode(name string, data []byte) ([]byte, error) {
	if c.idsErr != nil && IsEncrypted(data) {
		return nil, &Error{File: name, Kind: Broken, Err: c.idsErr,
			Msg: "encrypted, and " + c.idsErr.Error() + ": set secrets.age_identity_file or SOPS_AGE_KEY_FILE"}
	}
	return Decrypt(name, data, c.ids)
}

// Encode returns what to store for a plaintext file; stored is the file
// as it is stored now (nil for a new file). When stored is encrypted and
// the write leaves its passwords as they were, its encrypted values and
// sops section are kept byte for byte (the MAC covers the encrypted values
// only, so it stays valid), and git shows only the fields that changed.
// Otherwise pwd is encrypted for the recipients; it stays in clear only
// when there are none and plaintext is allowed, or when there is no
// password.
func (c *Codec) Encode(name string, plain, stored []byte) ([]byte, error) {
	if out, ok := c.keepSection(name, plain, stored); ok {
		return out, nil
	}
	if len(c.recipients) > 0 {
		return Encrypt(name, plain, c.recipients, c.clock.Now())
	}
	if c.allowPlaintext {
		return plain, nil
	}
	leaves, err := plainLeaves(plain, EncryptedRegex)
	if err != nil {
		return nil, wrapName(name, err)
	}
	for _, l := range leaves {
		if l.node.Value != "" {
			return nil, &Error{File: name, Kind: Plaintext, Msg: ErrPlaintextRefused.Error(), Err: ErrPlaintextRefused}
		}
	}
	return plain, nil
}

// keepSection is plain with the encrypted values and the sops section of
// stored, when stored is a sops file (section last, as sops writes it)
// whose encrypted values decrypt to exactly plain's values.
func (c *Codec) keepSection(name string, plain, stored []byte) ([]byte, bool) {
	if stored == nil {
		return nil, false
	}
	sd, m, sealed, err := open(name, stored)
	if err != nil || m == nil || !sectionIsLast(sd) {
		return nil, false
	}
	was, err := Decrypt(name, stored, c.ids)
	if err != nil {
		return nil, false
	}
	before, err1 := plainLeaves(was, m.EncryptedRegex)
	after, err2 := plainLeaves(plain, m.EncryptedRegex)
	if err1 != nil || err2 != nil || len(before) != len(after) || len(after) != len(sealed) {
		return nil, false
	}
	edits := make([]edit, len(after))
	for i, l := range after {
		if before[i].path != l.path || before[i].node.Value != l.node.Value {
			return nil, false
		}
		edits[i] = sealedEdit(l, sealed[i].node.Value)
	}
	out, err := splice(plain, edits, nil)
	if err != nil || verify(out, m.EncryptedRegex, edits) != nil {
		return nil, false
	}
	lines := strings.SplitAfter(string(stored), "\n")
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return append(out, strings.Join(lines[sd.sopsKey.Line-1:], "")...), true
}

// plainLeaves parses a plaintext file and lists the values rule encrypts.
func plainLeaves(data []byte, rule string) ([]leaf, error) {
	d, err := parseDocument("", data)
	if err != nil {
		return nil, err
	}
	re, err := regexp.Compile(rule)
	if err != nil {
		return nil, err
	}
	return d.leaves(re)
}

// sectionIsLast tells whether the sops section is the last key of the file.
func sectionIsLast(d *document) bool {
	n := len(d.root.Content)
	return n >= 2 && d.root.Content[n-2] == d.sopsKey
}
