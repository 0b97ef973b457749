package sops

import (
	"errors"
	"fmt"
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
	now            func() time.Time
}

// New loads the identities and parses the recipients of cfg. A missing
// identity is no error here: plaintext files work, and each encrypted file
// reports it. now is the clock of lastmodified (nil: time.Now).
func New(cfg Config, now func() time.Time) (*Codec, error) {
	rs, err := ParseRecipients(cfg.AgeRecipients)
	if err != nil {
		return nil, err
	}
	ids, idsErr := LoadIdentities(cfg.AgeIdentityFile)
	if idsErr != nil && (cfg.AgeIdentityFile != "" || !errors.Is(idsErr, ErrNoIdentity)) {
		return nil, fmt.Errorf("secrets.age_identity_file: %w", idsErr)
	}
	if now == nil {
		now = time.Now
	}
	return &Codec{ids: ids, idsErr: idsErr, recipients: rs, allowPlaintext: cfg.AllowPlaintext, now: now}, nil
}

// Decode returns the plaintext of a stored file: decrypted when it is a
// sops file, as it is otherwise.
func (c *Codec) Decode(name string, data []byte) ([]byte, error) {
	if c.idsErr != nil && IsEncrypted(data) {
		return nil, fmt.Errorf("%s: encrypted, and %w: set secrets.age_identity_file or SOPS_AGE_KEY_FILE", name, c.idsErr)
	}
	return Decrypt(name, data, c.ids)
}

// Encode returns what to store for a plaintext file: pwd encrypted for the
// recipients; in clear only when there are none and plaintext is allowed,
// or when the file has no password.
func (c *Codec) Encode(name string, plain []byte) ([]byte, error) {
	if len(c.recipients) > 0 {
		return Encrypt(name, plain, c.recipients, c.now())
	}
	if c.allowPlaintext {
		return plain, nil
	}
	d, err := parseDocument(name, plain)
	if err != nil {
		return nil, err
	}
	leaves, err := d.leaves(regexpPwd)
	if err != nil {
		return nil, wrapName(name, err)
	}
	for _, l := range leaves {
		if l.node.Value != "" {
			return nil, fmt.Errorf("%s: %w", name, ErrPlaintextRefused)
		}
	}
	return plain, nil
}
