package fakeprovider

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"
)

// User is one account of the provider.
type User struct {
	Username string `yaml:"username"`
	Password string `yaml:"password"`
}

// LoadUsers reads a users file: `users: [{username: alice, password: …}]`.
// Unknown keys, empty usernames and duplicates are errors.
func LoadUsers(path string) ([]User, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read users file: %w", err)
	}
	var f struct {
		Users []User `yaml:"users"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("users file %s: %w", path, err)
	}
	seen := map[string]bool{}
	for i, u := range f.Users {
		if u.Username == "" {
			return nil, fmt.Errorf("users file %s: users[%d]: username is required", path, i)
		}
		if seen[u.Username] {
			return nil, fmt.Errorf("users file %s: users[%d]: duplicate username %q", path, i, u.Username)
		}
		seen[u.Username] = true
	}
	return f.Users, nil
}
