// Signing throughput of vp::eth against the raw libsecp256k1 sign rate on the same machine.
// Run through scripts/bench, which writes bench/results/eth_sign.json.
#include <benchmark/benchmark.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "vp/crypto/keccak.h"
#include "vp/crypto/secp256k1.h"
#include "vp/eth/eip191.h"
#include "vp/eth/transaction.h"
#include "vp/eth/tx_json.h"

namespace {

const vp::Bytes kKey = *vp::HexDecode("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");

vp::crypto::Hash256 Digest(uint64_t i) {
  vp::Bytes b(8);
  for (size_t k = 0; k < 8; ++k) b[k] = static_cast<uint8_t>(i >> (8 * k));
  return vp::crypto::Keccak256(b);
}

// The floor: libsecp256k1 alone, RFC 6979 recoverable signing of a precomputed digest.
void BM_RawLibsecp256k1Sign(benchmark::State& state) {
  secp256k1_context* ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
  std::vector<vp::crypto::Hash256> digests;
  for (uint64_t i = 0; i < 1024; ++i) digests.push_back(Digest(i));
  size_t i = 0;
  for (auto _ : state) {
    secp256k1_ecdsa_recoverable_signature sig;
    int ok = secp256k1_ecdsa_sign_recoverable(ctx, &sig, digests[i++ & 1023].data(), kKey.data(), nullptr, nullptr);
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(sig);
  }
  state.SetItemsProcessed(state.iterations());
  secp256k1_context_destroy(ctx);
}
BENCHMARK(BM_RawLibsecp256k1Sign);

// vp::crypto's wrapper: key validation + signing + serialization.
void BM_VpSecp256k1Sign(benchmark::State& state) {
  std::vector<vp::crypto::Hash256> digests;
  for (uint64_t i = 0; i < 1024; ++i) digests.push_back(Digest(i));
  size_t i = 0;
  for (auto _ : state) {
    auto sig = vp::crypto::Secp256k1Sign(kKey, digests[i++ & 1023]);
    benchmark::DoNotOptimize(sig);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VpSecp256k1Sign);

vp::eth::Transaction Eip1559(uint64_t nonce) {
  auto doc = nlohmann::json::parse(R"({"type":2,"chainId":1,"to":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "value":"1000000000000000000","gasLimit":21000,"maxFeePerGas":"30000000000","maxPriorityFeePerGas":"1000000000"})");
  auto tx = *vp::eth::TransactionFromJson(doc);
  tx.nonce = nonce;
  return tx;
}

// A whole EIP-1559 transaction: RLP encode, keccak, sign, raw serialization, tx hash, from.
void BM_EthSignTransaction1559(benchmark::State& state) {
  std::vector<vp::eth::Transaction> txs;
  for (uint64_t i = 0; i < 256; ++i) txs.push_back(Eip1559(i));
  size_t i = 0;
  for (auto _ : state) {
    auto signed_tx = vp::eth::SignTransaction(txs[i++ & 255], kKey);
    benchmark::DoNotOptimize(signed_tx);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EthSignTransaction1559);

// The same with the sender's address known (the signer caches it with the unwrapped key).
void BM_EthSignTransaction1559KnownSender(benchmark::State& state) {
  std::vector<vp::eth::Transaction> txs;
  for (uint64_t i = 0; i < 256; ++i) txs.push_back(Eip1559(i));
  const auto from = *vp::eth::Address::FromPrivateKey(kKey);
  size_t i = 0;
  for (auto _ : state) {
    auto signed_tx = vp::eth::SignTransaction(txs[i++ & 255], kKey, from);
    benchmark::DoNotOptimize(signed_tx);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EthSignTransaction1559KnownSender);

void BM_EthDecodeAndRecover1559(benchmark::State& state) {
  auto raw = vp::eth::SignTransaction(Eip1559(7), kKey)->raw;
  for (auto _ : state) {
    auto tx = vp::eth::DecodeSignedTransaction(raw);
    benchmark::DoNotOptimize(tx);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EthDecodeAndRecover1559);

void BM_Keccak256_32B(benchmark::State& state) {
  vp::Bytes b(32, 7);
  for (auto _ : state) benchmark::DoNotOptimize(vp::crypto::Keccak256(b));
  state.SetBytesProcessed(state.iterations() * 32);
}
BENCHMARK(BM_Keccak256_32B);

}  // namespace

BENCHMARK_MAIN();
