// Package examples holds no code: it is the home of the operator-facing
// example files (providers, config, tokens, Prometheus rules, Grafana
// dashboard, JSON Schema, git hooks, systemd unit, Kubernetes manifests) and
// of the tests that keep them true, run by `make test`:
//
//   - prometheus/: promtool checks the scrape config and the rules and runs
//     the rules' unit tests (trunkd.rules.test.yml); every alert is tested
//     firing and not firing, has a severity and a runbook_url whose section
//     exists in docs/runbook.md, never selects by job, and rules read only
//     exported metrics;
//   - grafana/trunkd.json: valid JSON, every query parses (promtool) and
//     names only metrics the daemon exports; the dashboard linter's rules
//     it relies on are encoded in grafana_lint_test.go (the linter does not
//     install here); the trunks table's bindings column is evaluated by
//     promtool against test series;
//   - schema/provider.schema.json: checked field by field against
//     registry.Fields and registry.Default, every example provider file
//     validates against it, and invalid documents are rejected by both the
//     schema and registry.Parse;
//   - git/pre-commit: run on a good and a bad commit in a scratch repository;
//   - systemd/ and kubernetes/: the unit's hardening directives (and
//     systemd-analyze verify/security); the manifests' mounts, ports and
//     paths agree with the pod's trunkd.yaml (the git working copy,
//     credentials and age identity included), and kustomize builds them;
//   - docs/configuration.md and docs/metrics.md: every config key and every
//     metric of the code is documented, and nothing documented is unknown;
//     example configs use known keys only; every PromQL example of
//     docs/metrics.md parses (promtool) and the filtering ones return what
//     they promise against test series;
//   - README.md and docs/: relative links resolve inside the repository, and
//     docs/design.md describes every package.
//
// Tests that need promtool, systemd-analyze or kustomize fail under CI (env
// CI set) and skip elsewhere when it is missing. kustomize is not packaged
// in Debian: .ci/run installs it pinned through the Go module proxy, and the
// test runs "kustomize build", which is what "kubectl kustomize" embeds.
//
// Decisions where the issue is silent:
//
//   - Render alerts fire on failures that happened in the last 15 minutes,
//     not on the age of the last successful render: trunkd renders only when
//     providers change, so a healthy quiet system has old success timestamps.
//     The write stage counts with template and check; reload failures have
//     their own, critical alert. Beyond the list, alerts cover a
//     scrape target that is down, a render held by the drop guard and a
//     providers directory not read for 5 minutes (the registry rescans
//     every 60 s, so that means a vanished mount).
//   - The schema and trunkd validate judge alike, checked with a maintained
//     JSON Schema validator (santhosh-tekuri/jsonschema, with Go and with
//     ECMAScript regexps, the dialect of editors) over a probe table and
//     every provider fixture of the repository. Where JSON cannot tell two
//     YAML forms apart, trunkd follows JSON: an integral float (enabled:
//     1.0, expires: 6e2) is that integer, and an unquoted integer is the
//     text written in code, username, login, pwd and opts (login: 3528769);
//     host and enumeration fields want text. One corner stays: a code
//     written "+5" is refused by trunkd (a code starts with a letter or
//     digit) but an editor reads it as the number 5. The host pattern is
//     compared with registry.IsHost over generated strings.
//   - The systemd unit runs as a static user trunkd, not DynamicUser: the
//     providers checkout and the rendered engine files must be owned by a
//     stable uid that deploy tooling and the SIP engine's group can share.
//   - Paging: one trunk down is a warning; TrunkdManyTrunksDown (3 or more
//     trunks of one trunkd down) is the page, since there is no provider
//     label to group by. Targets are found by the target label
//     service="trunkd", which survives a renamed job; TrunkdTargetMissing
//     (absent) fires when no such target exists at all.
//   - Kubernetes: rendered files are 0640 and read by an engine container
//     through the pod's fsGroup; the prober advertises the pod IP
//     (--probe-advertise $(POD_IP)), which works for query mode behind the
//     node's SNAT (answers return by rport); scrape annotations sit on the
//     pod only.
//   - In Kubernetes trunkd follows the providers repository itself (the
//     git: section; no git-sync sidecar, whose next sync would drop API
//     writes): the working copy is a folder inside an emptyDir, the remote
//     credentials, webhook secret and age identity come from Secrets
//     created out of band, and no ConfigMap holds a password (checked on
//     the files and on kustomize's output).
package examples
