package sops

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"
)

// The environment variables the sops tool reads its age identities from.
const (
	EnvAgeKey     = "SOPS_AGE_KEY"      // identities themselves
	EnvAgeKeyFile = "SOPS_AGE_KEY_FILE" // a file of identities
)

// ErrNoIdentity: no age identity was configured or found.
var ErrNoIdentity = errors.New("no age identity")

// LoadIdentities reads the age identities trunkd decrypts with: the file
// named by secrets.age_identity_file when set, otherwise, as the sops tool
// does, SOPS_AGE_KEY, SOPS_AGE_KEY_FILE and the user's
// sops/age/keys.txt (below $XDG_CONFIG_HOME or ~/.config), all that exist.
func LoadIdentities(identityFile string) ([]age.Identity, error) {
	if identityFile != "" {
		return readIdentityFile(identityFile)
	}
	var ids []age.Identity
	if v := os.Getenv(EnvAgeKey); v != "" {
		got, err := age.ParseIdentities(strings.NewReader(v))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvAgeKey, err)
		}
		ids = append(ids, got...)
	}
	if f := os.Getenv(EnvAgeKeyFile); f != "" {
		got, err := readIdentityFile(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvAgeKeyFile, err)
		}
		ids = append(ids, got...)
	}
	if f := userKeysFile(); f != "" {
		if got, err := readIdentityFile(f); err == nil {
			ids = append(ids, got...)
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	if len(ids) == 0 {
		return nil, ErrNoIdentity
	}
	return ids, nil
}

// userKeysFile is where the sops tool looks for age keys by default.
func userKeysFile() string {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "sops", "age", "keys.txt")
}

func readIdentityFile(name string) ([]age.Identity, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ids, err := age.ParseIdentities(f)
	if err != nil {
		return nil, fmt.Errorf("age identity file %s: %w", name, err)
	}
	return ids, nil
}

// Recipient is an age public key (age1…) a data key is encrypted for.
type Recipient struct {
	text string
	key  *age.X25519Recipient
}

// String is the recipient's public key as written in the file.
func (r Recipient) String() string { return r.text }

// ParseRecipients parses secrets.age_recipients.
func ParseRecipients(list []string) ([]Recipient, error) {
	rs := make([]Recipient, 0, len(list))
	for i, s := range list {
		s = strings.TrimSpace(s)
		k, err := age.ParseX25519Recipient(s)
		if err != nil {
			return nil, fmt.Errorf("secrets.age_recipients[%d]: %w", i, err)
		}
		rs = append(rs, Recipient{text: s, key: k})
	}
	return rs, nil
}
