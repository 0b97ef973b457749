// Package render turns a registry snapshot into SIP engine configuration:
// every render target executes its template over the active trunks, checks
// the candidate file, swaps it in atomically, reloads the engine and rolls
// back when the reload fails.
package render
