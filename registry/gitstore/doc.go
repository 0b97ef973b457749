// Package gitstore owns the git working copy trunkd follows and writes: it
// clones or opens it, keeps it equal to one branch of a remote (a poll loop
// and an immediate Trigger for the trigger endpoint and the forges' push
// webhooks), turns each API write into one commit that is on the remote
// before Commit returns ("acknowledged means on the remote"), and lists the
// commits that touched a provider file (History) and the last change of
// every file in one pass (LastChanges, for the status page).
//
// The registry reads and writes the files in Dir as it does on a plain
// directory; gitstore knows nothing of providers. The caller's apply
// function writes the files of a write (through the registry) and is called
// again on the new head when the push was rejected because the remote
// moved; on any failure the working copy is reset to the remote, so nothing
// half-applied stays and the sentinel errors (ErrUnavailable, ErrConflict,
// ErrDeclined) tell the API what to answer (503, 409, 502).
//
// In a cluster (Options.Lock and Options.Pushed) a write takes the
// cluster's write lock first, fetches the remote's head under it (another
// node's write never makes the push fail: no retries) and publishes the
// new head before the lock is released; gitstore knows nothing of etcd.
//
// # File layout
//
// Repo (repo.go: its fields, Open, clone or open the working copy) is the
// hub: sync.go (the poll loop, Trigger, fetch and reset to the remote),
// commit.go and history.go are its methods, config.go holds the Config,
// git.go runs the git commands. repo.go and sync.go are the one pair of
// files that use each other, by design: opening an existing working copy
// is its first sync (fetch, else keep the last fetched head; then reset
// to the remote), so Open's preparation calls sync.go, whose methods use
// the Repo's fields.
//
// # Why the git command-line tool, not go-git
//
// Measured on this project (go 1.26, linux/amd64, loaded machine):
//
//   - go-git v5.19.3 linked into bin/trunkd (clone, commit, push, fetch,
//     ssh keys with known_hosts, https basic auth): 20.1 MB → 26.5 MB
//     (+6.4 MB, +32 %); modules linked into the binary 19 → 37, in the
//     module graph 73 → 102. The git CLI adds nothing to the binary.
//   - go-git's file:// transport is not pure Go: it runs the
//     git-upload-pack and git-receive-pack binaries, found through
//     `git --exec-path`. A distroless image gains nothing for file remotes.
//   - The CLI is the same program the operators push with: fast-forward,
//     non-fast-forward rejection, OpenSSH's known_hosts handling (hashed
//     entries, @cert-authority), credential-free URLs and every transport
//     behave exactly as the humans' git does, and rejections are read from
//     `git push --porcelain`, a stable machine format.
//
// The cost is a runtime dependency: the image needs git (and
// openssh-client for ssh remotes); a distroless static image does not do.
// The container image therefore needs a base with git and openssh-client.
//
// Credentials never reach an argument list, a URL or .git/config: ssh uses
// GIT_SSH_COMMAND with the key, the configured known_hosts file only and
// StrictHostKeyChecking=yes; https sends the token (re-read from its file
// at every command, so a rotated token needs no restart) as an
// Authorization header through git's GIT_CONFIG_* environment; file:// and
// git:// need none. The tests run each transport for real: file://, git://
// (git daemon), https (git http-backend behind TLS demanding the token) and
// ssh (sshd, with a known_hosts that accepts and one that refuses). Every git command runs without global or system config
// (an operator's commit.gpgsign or hooks must not change what trunkd does),
// without prompts, in the C locale, with a timeout.
//
// Figures (BenchmarkCommit, BenchmarkFollow with -benchtime=20x, file://
// remote, both cores busy with other work): one write, apply to push, about
// 85 ms; a write of one Repo reaches a second one following the same remote
// in p50 53 ms / p90 88 ms with Trigger (what a webhook does) and in
// p50 0.94 s / p90 1.0 s with a 1 s poll alone (up to one poll interval).
//
// Decisions where the contract is silent:
//   - The workdir belongs to trunkd and to one trunkd process: untracked
//     files are removed when it is reset (ignored files stay); stale git
//     lock files of a killed process are removed at Open. A workdir that is
//     not empty and holds no .git is never deleted: Open fails instead.
//   - A broken working copy (unreadable .git, HEAD or index) is cloned anew
//     into a sibling folder first and then swapped in.
//   - The branch must exist on the remote; an empty repository needs one
//     first commit (a README) before trunkd can follow it.
//   - A remote whose history was rewritten (force push) wins like any other
//     move: the working copy is reset to it, never merged.
//   - A push whose connection broke after the remote accepted it is
//     reported as ErrUnavailable; the commit then arrives with the next
//     sync. The client retrying its write finds it done (If-Match tells).
//   - History follows the path, not renames: the registry keeps a provider
//     in its file when its code changes.
package gitstore
