// Package examples holds no code: it is the home of the operator-facing
// example files (providers, config, tokens, Prometheus rules, Grafana
// dashboard, JSON Schema, git hooks, systemd unit, Kubernetes manifests) and
// of the tests that keep them true, run by `make test`:
//
//   - prometheus/: promtool checks the scrape config and the rules and runs
//     the rules' unit tests (trunkd.rules.test.yml);
//   - grafana/trunkd.json: valid JSON, every query parses (promtool) and
//     names only metrics the daemon exports;
//   - schema/provider.schema.json: checked field by field against
//     registry.Fields and registry.Default, every example provider file
//     validates against it, and invalid documents are rejected by both the
//     schema and registry.Parse;
//   - git/pre-commit: run on a good and a bad commit in a scratch repository;
//   - docs/configuration.md and docs/metrics.md: every config key and every
//     metric of the code is documented, and nothing documented is unknown.
//
// Decisions where the issue is silent:
//
//   - Render alerts fire on failures that happened in the last 15 minutes,
//     not on the age of the last successful render: trunkd renders only when
//     providers change, so a healthy quiet system has old success timestamps.
//   - The schema is stricter than the registry in one respect: a string
//     field written as an unquoted number or boolean (username: 1001) is
//     accepted by trunkd, which keeps the text, but flagged by the schema,
//     because the same value in an API body is a type error and YAML 1.1
//     tools may rewrite it (0123, yes, 1e3). Empty values (pingsrv:) are
//     allowed where the registry keeps the default. Host-name and code
//     patterns are slightly more lenient than the registry (the registry has
//     the last word on IPv6 forms and non-ASCII printable characters).
//   - The systemd unit runs as a static user trunkd, not DynamicUser: the
//     providers checkout and the rendered engine files must be owned by a
//     stable uid that deploy tooling and the SIP engine's group can share.
//   - In Kubernetes the providers directory is a ConfigMap (read-only): the
//     daemon follows ConfigMap updates, and the REST API's writes fail, so
//     give API clients the reader role there, or use the git-sync sidecar
//     pattern described in kubernetes/deployment.yaml.
package examples
