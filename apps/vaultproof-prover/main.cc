// vaultproof-prover: the prover image the workers run (only when its digest is signed by the
// release key; src/vp/prover/prover_image.h). `segment` reads one segment's prover input
// (docs/tally_proof.md, "Prover input") on stdin and writes the segment's STARK proof bytes
// on stdout; errors go to stderr with exit status 1, usage errors exit 2. `serve` answers
// framed requests on stdin until it closes or stays idle for --idle-exit-ms (docs/tally_proof.md,
// "Prover sessions"), so a worker pays the start and the first touch of memory once.
//
//   vaultproof-prover segment < input.json > proof.bin
//   vaultproof-prover serve [--idle-exit-ms N]
//   vaultproof-prover version
#include <omp.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "vp/ballot/tally.h"
#include "vp/base/secure.h"
#include "vp/prover/segment_request.h"
#include "vp/prover/session_frame.h"
#include "vp/stark/prover.h"
#include "vp/stark/random.h"

namespace {

using vp::prover::AnswerKind;
using vp::prover::GetLe32;
constexpr size_t kMaxInput = vp::prover::kMaxRequestBytes;

int Fail(const std::string& why) {
  std::fprintf(stderr, "vaultproof-prover: %s\n", why.c_str());
  return 1;
}

// The witness is wiped once proven: a serving image proves segment after segment.
vp::StatusOr<vp::Bytes> ProveInput(std::string& text) {
  auto input = vp::prover::DecodeProverInput(text);
  vp::SecureWipe(text.data(), text.size());
  if (!input.ok()) return input.status();
  struct Wipe {
    vp::prover::ProverInput& in;
    ~Wipe() {
      for (auto& l : in.leaves) vp::SecureWipe(l.random.data(), l.random.size());
    }
  } wipe{*input};
  ASSIGN_OR_RETURN(vp::ballot::SegmentStatement segment,
                   vp::ballot::ComputeSegmentStatement(input->offset, input->leaves, input->num_choices,
                                                       input->blocks));
  vp::ballot::TallyStatement statement;
  statement.version = input->version;
  statement.election_id = input->election_id;
  statement.config_hash = input->config_hash;
  statement.num_choices = input->num_choices;
  vp::stark::SystemRandom rng;
  return vp::ballot::ProveSegment(statement, segment, input->leaves, vp::ballot::TallyProofOptions(), rng);
}

bool WriteAll(const uint8_t* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(1, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Reads exactly n bytes; false on end of input or an error.
bool ReadExact(uint8_t* p, size_t n) {
  while (n > 0) {
    const ssize_t r = ::read(0, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
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
    if (text.size() > kMaxInput) return Fail("input above 1 GiB");
  }
  auto proof = ProveInput(text);
  if (!proof.ok()) return Fail(proof.status().message());
  if (!WriteAll(proof->data(), proof->size())) return Fail("cannot write the proof to stdout");
  return 0;
}

bool Answer(AnswerKind kind, const uint8_t* p, size_t n) {
  uint8_t head[vp::prover::kAnswerHeaderSize];
  head[0] = static_cast<uint8_t>(kind);
  vp::prover::PutLe32(head + 1, static_cast<uint32_t>(n));
  return WriteAll(head, sizeof(head)) && WriteAll(p, n);
}

// Frames as vp/prover/session_frame.h. A request the image cannot read ends the session
// (exit 1) after a refusal.
int Serve(int idle_exit_ms) {
  const int default_threads = omp_get_max_threads();
  for (;;) {
    pollfd p{0, POLLIN, 0};
    const int rc = ::poll(&p, 1, idle_exit_ms);
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) return 0;  // idle: give the memory back
    uint8_t head[vp::prover::kRequestHeaderSize];
    // End of input between requests is the worker closing the session.
    const ssize_t first = ::read(0, head, 1);
    if (first == 0) return 0;
    if (first < 0 && errno == EINTR) continue;
    if (first < 0 || !ReadExact(head + 1, sizeof(head) - 1)) return Fail("truncated request header");
    const uint32_t threads = GetLe32(head), length = GetLe32(head + 4);
    if (threads > vp::prover::kMaxRequestThreads || length == 0 || length > kMaxInput) {
      const std::string why = "malformed request header";
      Answer(AnswerKind::kRefusal, reinterpret_cast<const uint8_t*>(why.data()), why.size());
      return Fail(why);
    }
    std::string text(length, '\0');
    if (!ReadExact(reinterpret_cast<uint8_t*>(text.data()), length)) return Fail("truncated request");
    omp_set_num_threads(threads == 0 ? default_threads : static_cast<int>(threads));
    auto proof = ProveInput(text);
    const bool written =
        proof.ok() ? Answer(AnswerKind::kProof, proof->data(), proof->size())
                   : Answer(AnswerKind::kRefusal, reinterpret_cast<const uint8_t*>(proof.status().message().data()),
                            proof.status().message().size());
    if (!written) return Fail("cannot write the answer to stdout");
  }
}

}  // namespace

int main(int argc, char** argv) {
  // The image holds votes' randoms: no core dumps, no ptrace by the same user.
  const rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  ::prctl(PR_SET_DUMPABLE, 0);
  vp::stark::KeepFreedMemoryForProving();
  const std::string cmd = argc >= 2 ? argv[1] : "";
  if (cmd == "segment" && argc == 2) return ProveSegmentFromStdin();
  if (cmd == "serve") {
    int idle_exit_ms = 60000;
    if (argc == 4 && std::strcmp(argv[2], "--idle-exit-ms") == 0) {
      char* end = nullptr;
      const long v = std::strtol(argv[3], &end, 10);
      if (end == argv[3] || *end != '\0' || v < 1 || v > 86400000) {
        std::fprintf(stderr, "vaultproof-prover: --idle-exit-ms takes 1..86400000\n");
        return 2;
      }
      idle_exit_ms = static_cast<int>(v);
    } else if (argc != 2) {
      std::fprintf(stderr, "usage: vaultproof-prover serve [--idle-exit-ms N]\n");
      return 2;
    }
    return Serve(idle_exit_ms);
  }
  if (cmd == "version" && argc == 2) {
    std::printf("%s\n", std::string(vp::ballot::kTallyAirName).c_str());
    return 0;
  }
  std::fprintf(stderr,
               "usage: vaultproof-prover segment < input.json > proof.bin | vaultproof-prover serve "
               "[--idle-exit-ms N] | vaultproof-prover version\n");
  return 2;
}
