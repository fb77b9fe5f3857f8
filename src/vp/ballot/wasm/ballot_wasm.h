// WebAssembly entry points of the ballot verifier: what the browser runs to compute its vote's
// commitment, check a receipt's proofs against the log's signed heads and verify the tally
// proof of a bundle it unzipped (docs/ballot_log.md, docs/bundle_format.md, tally.h). Built by
// build.sh with emscripten into one ballot_verifier.js; verify_test.mjs shows every call.
//
//   const M = await BallotVerifier();
//   const call = (name, types, args) => JSON.parse(M.ccall(name, 'string', types, args));
//   call('vp_ballot_commitment', ['string', 'number', 'string'], [uuid, 2, randHex]);
//       // {"ok":true,"commitment":"<64 hex>"}
//   call('vp_ballot_verify_inclusion', ['string'],
//        [JSON.stringify({commitment, leafIndex, treeSize, path, root})]);  // {"ok","reason"}
//   call('vp_ballot_sth_message', ['string'], [closeStatementText]);
//       // {"ok":true,"message":"<194 hex>","signature":"<128 hex>"}: check with WebCrypto
//
//   // public-input.json and proof.bin through the heap (see below), then:
//   call('vp_ballot_verify_tally', ['number', 'number', 'number', 'number'],
//        [pubPtr, proofPtr, proofLen, manifest.minSecurityBits]);
//
// Every entry point answers {"ok":false,"reason":"..."} on any malformed input and never traps.
// The answer lives in a buffer that the next call overwrites (ccall's 'string' return type
// copies it at once). Input objects are read strictly: exactly the keys listed (repeated or
// unknown keys refused), integers in [0, 2^53 - 1], hashes and ids in their canonical text
// forms; JSON texts and proofs above the bundle's caps (16 and 64 MiB) are refused unread.
// ccall's 'string' argument copies the text onto the 5 MiB WASM stack (4 bytes reserved per
// character), so a text that may reach a megabyte (public-input.json) must be passed as a
// pointer to a NUL-terminated UTF-8 copy made with _malloc (verify_test.mjs: heapString).
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" {

// {"ok":true,"commitment":hex}: the commitment of (election id as a canonical UUID, choice, a
// 64-hex random), as /vote computes it. choice must be an integer in [0, 2^32 - 1]; its range
// against the election's choices is the caller's check.
const char* vp_ballot_commitment(const char* election_id, double choice, const char* rand_hex);

// {"commitment","leafIndex","treeSize","path":[hex...],"root"} -> {"ok","reason"}. The leaf
// hash is computed here from the commitment, never taken from the log; take treeSize and root
// from a signed head.
const char* vp_ballot_verify_inclusion(const char* json_text);

// {"oldSize","newSize","oldRoot","newRoot","proof":[hex...]} -> {"ok","reason"}.
const char* vp_ballot_verify_consistency(const char* json_text);

// {"logId","treeSize","timestamp","root","signature"?} (a close statement or a receipt's
// "sth" as they are) -> {"ok":true,"message":hex of the 97 bytes the log key signs,
// "signature"?}. The head's shape is validated; the signature, when given, only for its form:
// the caller checks it with Ed25519 (WebCrypto), which this module does not carry.
const char* vp_ballot_sth_message(const char* json_text);

// election-manifest.json's text (canonical form required) -> {"ok":true,"configHash":hex}:
// ElectionConfigHash of the manifest's election config (what configHashMatches compares with
// the manifest's configHash and the statement's).
const char* vp_ballot_config_hash(const char* manifest_json);

// public-input.json's text (canonical form required) and proof.bin's bytes ->
// {"ok":true,"reason":"","segments":n,"conjecturedSecurityBits":x} when CheckTallyStatement
// and VerifyTally accept at max(100, min_bits) conjectured bits (x: the weakest segment's),
// {"ok":false,"reason"} otherwise. min_bits above 256 or not finite is refused.
const char* vp_ballot_verify_tally(const char* public_input_json, const uint8_t* proof,
                                   size_t len, double min_bits);

}  // extern "C"
