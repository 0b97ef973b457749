// Package api serves trunkd's HTTP interface: the providers collection of
// the seed contract at /rest/v1/uc/providers (six operations, the query
// language, bearer-token roles, seed-shaped error bodies), the OpenAPI
// document, and the operational endpoints /healthz, /readyz, /status and
// /metrics. It keeps no state of its own: reads come from the registry's
// current snapshot and writes go through the registry's store.
package api
