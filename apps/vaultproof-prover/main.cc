// vaultproof-prover: the prover image the workers run (only when its digest is signed by the
// release key; src/vp/prover/prover_image.h). It reads one segment's prover input
// (docs/tally_proof.md, "Prover input") on stdin and writes the segment's STARK proof bytes
// on stdout. Errors go to stderr with exit status 1; usage errors exit 2.
//
//   vaultproof-prover segment < input.json > proof.bin
//   vaultproof-prover version
#include <unistd.h>

#include <cstdio>
#include <cerrno>
#include <string>

#include "vp/ballot/tally.h"
#include "vp/prover/segment_request.h"
#include "vp/stark/prover.h"
#include "vp/stark/random.h"

namespace {

int Fail(const std::string& why) {
  std::fprintf(stderr, "vaultproof-prover: %s\n", why.c_str());
  return 1;
}

int ProveSegmentFromStdin() {
  std::string text;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(0, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail("cannot read stdin");
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > (size_t{1} << 30)) return Fail("input above 1 GiB");
  }
  auto input = vp::prover::DecodeProverInput(text);
  if (!input.ok()) return Fail(input.status().message());
  auto segment = vp::ballot::ComputeSegmentStatement(input->offset, input->leaves, input->num_choices);
  if (!segment.ok()) return Fail(segment.status().message());
  vp::ballot::TallyStatement statement;
  statement.election_id = input->election_id;
  statement.config_hash = input->config_hash;
  statement.num_choices = input->num_choices;
  vp::stark::SystemRandom rng;
  auto proof = vp::ballot::ProveSegment(statement, *segment, input->leaves, vp::stark::ProofOptions{}, rng);
  if (!proof.ok()) return Fail(proof.status().message());
  size_t off = 0;
  while (off < proof->size()) {
    const ssize_t n = ::write(1, proof->data() + off, proof->size() - off);
    if (n <= 0) return Fail("cannot write the proof to stdout");
    off += static_cast<size_t>(n);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  vp::stark::KeepFreedMemoryForProving();
  const std::string cmd = argc == 2 ? argv[1] : "";
  if (cmd == "segment") return ProveSegmentFromStdin();
  if (cmd == "version") {
    std::printf("%s\n", std::string(vp::ballot::kTallyAirName).c_str());
    return 0;
  }
  std::fprintf(stderr, "usage: vaultproof-prover segment < input.json > proof.bin | vaultproof-prover version\n");
  return 2;
}
