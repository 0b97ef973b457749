// Package sops reads and writes provider files in the SOPS format with age
// keys, where only the password is encrypted: `encrypted_regex: ^pwd$` and
// `mac_only_encrypted: true`, so that the MAC covers the encrypted values
// only and a hand edit of any other field keeps the file valid. Files it
// writes are decrypted and edited by the sops tool; files the sops tool
// wrote with that rule are read here (both tested with the real tool).
//
// Decrypt turns an encrypted file into the plaintext the registry parses;
// Strip checks one without the key (everything but the password); Encrypt
// encrypts the pwd values of a plaintext file for the recipients. All three
// edit the file's text in place rather than re-encoding it: comments, key
// order, quoting and every line number stay as the operator wrote them, so
// validation errors of a decrypted file point at the right line. Every
// rewrite is parsed again and checked before it is returned. A Codec, made
// from the `secrets:` section, is what the registry reads and writes
// through: Decode passes plaintext files as they are, Encode encrypts a
// write for the recipients and refuses a password in clear unless
// allow_plaintext is set.
//
// # Why not the sops Go module
//
// Measured on this project (go 1.26, linux/amd64, loaded machine): bin/trunkd
// with a call of github.com/getsops/sops/v3 v3.13.3's decrypt.File grows
// from 20.1 MB to 69.1 MB (3.4×), its linked modules from 19 to 137 and its
// module graph from 78 to 377 modules — sops brings every key service (AWS,
// GCP, Azure, Vault, HuaweiCloud KMS, PGP, a gRPC keyservice,
// OpenTelemetry) whether used or not. The documented file format's age
// subset, implemented here with filippo.io/age v1.3.2 (the library sops
// itself uses for age), adds 0.4 MB to bin/trunkd (20.07 MB → 20.48 MB),
// 3 linked modules and 5 modules to the graph.
//
// The subset: age recipients only (no KMS, PGP, Vault, key groups or
// Shamir), the encrypted_regex rule with mac_only_encrypted (a file with
// another rule, or a MAC over all values, is refused with an error that
// names the key), values of type str, int, float and bool, YAML files. The
// format followed: AES-256-GCM per value with a 32-byte nonce and the key
// path ("pwd:") as additional data, written ENC[AES256_GCM,data:…,iv:…,
// tag:…,type:…]; a random 32-byte data key encrypted for every recipient as
// an armored age file; the MAC is the upper-case hex SHA-512 of a fixed
// 32-byte prefix and the plaintext of every encrypted value in document
// order, encrypted with the data key and lastmodified (RFC 3339) as
// additional data.
//
// Cost (BenchmarkDecrypt, BenchmarkEncrypt, BenchmarkParse; the Oktell
// example file; loaded machine): decrypting a file takes about 0.4–0.6 ms
// (the age X25519 unwrap of the data key and two YAML parses), encrypting
// about 0.5 ms, against 0.1 ms for the YAML parse alone. The registry
// decrypts only files whose content changed, so this counts at a cold
// start: about 3 s of CPU more for 10,000 encrypted files. A plaintext file
// passes the codec in about 2 µs (BenchmarkDecodePlaintext; no second
// parse: a file without a `sops:` line at column 0 is plaintext).
//
// Decisions where the contract is silent:
//   - Encrypt always draws a new data key, so that a writer needs only the
//     recipients, never the identity; the sops tool reads either way.
//   - Identities come from secrets.age_identity_file when set; otherwise
//     from where the sops tool looks (SOPS_AGE_KEY, SOPS_AGE_KEY_FILE,
//     $XDG_CONFIG_HOME/sops/age/keys.txt), all that exist. SOPS_AGE_KEY_CMD
//     and ssh keys are not read.
//   - Encrypt stores every value as type str with the text as written: the
//     registry reads pwd as a string, so `pwd: 0123` stays "0123" (the sops
//     tool would type it as the integer 83). Decrypt honours the types the
//     sops tool wrote.
//   - A file without pwd (or with `pwd:` empty) gets no sops section; an
//     empty string is kept as "" and covered by the MAC, as sops does.
//   - A password written as a block scalar (| or >) over several lines, or
//     a file that is one flow mapping {…}, is refused with a clear message.
//   - Errors name the file, the line and the key, never a value. An error
//     about a file's content is an *Error carrying the line and its Kind:
//     Broken (the file cannot be read), Layout (a value cannot be encrypted
//     where it is written: edit the file by hand) or Plaintext (a password
//     refused in clear); the registry tells them apart by Kind, never by
//     the message.
package sops
