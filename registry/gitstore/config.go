package gitstore

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"time"
)

// DefaultPoll is how often the working copy is fast-forwarded when the
// configuration names no poll interval.
const DefaultPoll = 5 * time.Second

// Config is the `git:` section of the trunkd configuration: which remote
// trunkd follows and how it authenticates and signs its commits.
type Config struct {
	// Remote is the repository URL: ssh (git@host:org/repo.git or
	// ssh://…), https://…, git://… or file://….
	Remote string `yaml:"remote"`
	// Branch is the branch followed and pushed to (default "main").
	Branch string `yaml:"branch"`
	// Path is the providers folder inside the repository ("" or "." for
	// the repository root).
	Path string `yaml:"path"`
	// Workdir is the local working copy trunkd owns.
	Workdir string `yaml:"workdir"`
	// Poll is the interval of the fast-forward loop (default DefaultPoll).
	Poll time.Duration `yaml:"poll"`
	// SSHKeyFile is the private key for ssh remotes; KnownHostsFile the
	// host keys it trusts (both required for ssh remotes).
	SSHKeyFile     string `yaml:"ssh_key_file"`
	KnownHostsFile string `yaml:"known_hosts_file"`
	// TokenFile holds the access token for https remotes; TokenUser the
	// user name sent with it (default "x-access-token", which GitHub,
	// GitLab and Gitea all accept with a token).
	TokenFile string `yaml:"token_file"`
	TokenUser string `yaml:"token_user"`
	// Committer signs every commit trunkd makes; the author of an API
	// write is the API token's name (see Repo.Commit).
	Committer Signature `yaml:"committer"`
}

// Signature is a git identity.
type Signature struct {
	Name  string `yaml:"name"`
	Email string `yaml:"email"`
}

// withDefaults fills the optional keys.
func (c Config) withDefaults() Config {
	c.Branch = cmp.Or(c.Branch, "main")
	c.Path = path.Clean(cmp.Or(c.Path, "."))
	if c.Poll <= 0 {
		c.Poll = DefaultPoll
	}
	c.TokenUser = cmp.Or(c.TokenUser, "x-access-token")
	c.Committer.Name = cmp.Or(c.Committer.Name, "trunkd")
	c.Committer.Email = cmp.Or(c.Committer.Email, "trunkd@localhost")
	return c
}

// Validate reports every key of the section that is missing or
// inconsistent, naming the key.
func (c Config) Validate() error {
	var errs []error
	if c.Remote == "" {
		errs = append(errs, errors.New("git.remote: required"))
	}
	if c.Workdir == "" {
		errs = append(errs, errors.New("git.workdir: required"))
	}
	if p := path.Clean(c.Path); strings.HasPrefix(p, "../") || p == ".." || path.IsAbs(p) {
		errs = append(errs, fmt.Errorf("git.path: %q must be a folder inside the repository", c.Path))
	}
	if strings.HasPrefix(c.Branch, "-") || strings.ContainsAny(c.Branch, " ~^:?*[\\") {
		errs = append(errs, fmt.Errorf("git.branch: %q is not a valid branch name", c.Branch))
	}
	switch transport(c.Remote) {
	case "ssh":
		if c.SSHKeyFile == "" || c.KnownHostsFile == "" {
			errs = append(errs, errors.New("git.ssh_key_file, git.known_hosts_file: both required for an ssh remote"))
		}
	case "https":
		if c.TokenFile == "" {
			errs = append(errs, errors.New("git.token_file: required for an https remote"))
		}
	case "http":
		errs = append(errs, errors.New("git.remote: plain http would send the token in clear; use https"))
	}
	return errors.Join(errs...)
}

// transport names the remote's transport: ssh, https, http, git or file.
func transport(remote string) string {
	if u, err := url.Parse(remote); err == nil && u.Scheme != "" && strings.Contains(remote, "://") {
		return u.Scheme
	}
	if strings.Contains(remote, ":") && !strings.HasPrefix(remote, "/") {
		return "ssh" // scp-like syntax: git@host:org/repo.git
	}
	return "file"
}
