// Test helper for tests/ballot/ballot_cli.sh: rewrites bundle.zip with one byte of one of its
// files changed, as a forger with a zip tool would.
//   ballot_bundle_tamper IN.zip OUT.zip FILE PERMILLE [XOR]
// flips the byte at PERMILLE/1000 of FILE's length (XOR with XOR, default 1) and prints the
// offset. Exit 0 on success, 2 on bad arguments or an unreadable bundle.
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include "vp/ballot/bundle.h"

namespace {

int Fail(const std::string& why) {
  std::cerr << "ballot_bundle_tamper: " << why << "\n";
  return 2;
}

template <typename Buffer>
bool Flip(Buffer& b, unsigned long permille, unsigned long x, size_t* at) {
  if (b.empty()) return false;
  *at = std::min(b.size() - 1, b.size() * permille / 1000);
  b[*at] = static_cast<typename Buffer::value_type>(static_cast<unsigned char>(b[*at]) ^ x);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5 && argc != 6) return Fail("usage: IN.zip OUT.zip FILE PERMILLE [XOR]");
  std::ifstream in(argv[1], std::ios::binary);
  const vp::Bytes zip((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto files = vp::ballot::ReadBundleZip(zip);
  if (!files.ok()) return Fail(files.status().message());
  const std::string name = argv[3];
  const unsigned long permille = std::strtoul(argv[4], nullptr, 10);
  const unsigned long x = argc == 6 ? std::strtoul(argv[5], nullptr, 0) : 1;
  if (x == 0 || x > 255 || permille > 1000) return Fail("PERMILLE is 0..1000, XOR 1..255");
  size_t at = 0;
  bool ok = false;
  if (name == vp::ballot::kProofFileName) ok = Flip(files->proof, permille, x, &at);
  if (name == vp::ballot::kPublicInputFileName) ok = Flip(files->public_input, permille, x, &at);
  if (name == vp::ballot::kManifestFileName) ok = Flip(files->manifest, permille, x, &at);
  if (name == vp::ballot::kCloseStatementFileName) ok = Flip(files->close_statement, permille, x, &at);
  if (name == vp::ballot::kJournalFileName) ok = Flip(files->journal, permille, x, &at);
  if (!ok) return Fail("no such file in the bundle, or it is empty: " + name);
  auto out = vp::ballot::WriteBundleZip(*files);
  if (!out.ok()) return Fail(out.status().message());
  std::ofstream o(argv[2], std::ios::binary | std::ios::trunc);
  o.write(reinterpret_cast<const char*>(out->data()), static_cast<std::streamsize>(out->size()));
  if (!o) return Fail(std::string("cannot write ") + argv[2]);
  std::cout << at << "\n";
  return 0;
}
