// Package sipcheck probes every active trunk over SIP with one shared sipgo
// user agent: REGISTER with digest auth per expires, OPTIONS or CRLF pings
// per pingmode, and exports the live state and Prometheus metrics.
package sipcheck
