// Package fakeprovider is a small SIP provider for loopback tests and
// demos: a registrar with digest authentication that answers REGISTER (with
// Contact: add, refresh or remove bindings; without Contact: list them) and
// OPTIONS, on UDP and TCP at the same address, and on TLS at a second
// address after ListenTLS. `trunkd fakeprovider` runs it for `make run`;
// the sipcheck tests run it in-process.
//
// Behaviour, chosen to look like a real provider:
//   - Every REGISTER without valid credentials gets a 401 with a fresh,
//     single-use MD5 nonce (qop=auth); with Config.ProxyAuth a 407 with
//     Proxy-Authenticate instead. Wrong credentials get a new challenge (RFC
//     3261 §22.4), or a 403 with Config.ForbidBadCredentials. Correct
//     credentials for an unknown or used nonce get a challenge with stale=true.
//   - A Contact's expiry is its expires parameter, else the Expires header,
//     else 3600; below Config.MinExpires the answer is 423 with Min-Expires;
//     above Config.MaxExpires (default 3600) it is shortened. Expires 0 removes
//     the binding; "Contact: *" with Expires 0 removes all. A REGISTER with the
//     Call-ID of a binding and a CSeq not above the last one gets 500.
//   - The 200 lists every binding of the address of record (the To URI) with
//     its remaining expiry, as RFC 3261 §10.3 asks.
//   - OPTIONS get 200 with Allow; CRLF keep-alives over TCP and TLS get a
//     CRLF pong.
//   - Config.Hook lets a test answer or drop any request first (503 with
//     Retry-After, silence, odd codes).
//
// # File layout
//
// Provider (provider.go: its fields, New, the listeners, request routing)
// is the hub; auth.go (nonces, digest checks, challenges) and register.go
// (bindings, REGISTER handling) are its methods on its fields, and
// provider.go routes REGISTER to register.go and holds the nonce and
// binding state their types describe: those two pairs of files use each
// other by design. users.go stands alone.
package fakeprovider
