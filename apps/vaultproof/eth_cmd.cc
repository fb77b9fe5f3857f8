#include "eth_cmd.h"

#include <cctype>
#include <iostream>

#include "vp/base/json.h"
#include "vp/eth/address.h"
#include "vp/eth/bip32.h"
#include "vp/eth/bip39.h"
#include "vp/eth/eip191.h"
#include "vp/eth/eip712.h"
#include "vp/eth/transaction.h"
#include "vp/eth/tx_json.h"

namespace vp::app {
namespace {

using nlohmann::json;

constexpr size_t kMaxStdin = 4 * 1024 * 1024;

// Strips one trailing "\n" or "\r\n": files written by editors and `echo` end with one.
std::string_view StripNewline(std::string_view s) {
  if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
  return s;
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Every JSON input is parsed strictly: a repeated key would otherwise be silently dropped.
StatusOr<json> ParseJson(std::string_view text, const char* what) { return ParseJsonStrict(text, what); }

// A private key given as 0x-hex text (surrounding whitespace allowed), decoded into locked memory.
StatusOr<SecureBuffer> ParsePrivateKeyText(std::string_view text) {
  auto key = HexDecodeSecret(TrimSpace(text));
  if (!key.ok()) return InvalidArgumentError("key: not a hex private key");
  RETURN_IF_ERROR(crypto::Secp256k1ValidatePrivateKey(key->view()));
  return key;
}

StatusOr<SecureBuffer> LoadKeyFile(const std::string& path) {
  ASSIGN_OR_RETURN(SecureBuffer text, ReadSecretFile(path));
  return ParsePrivateKeyText(AsString(text.view()));
}

}  // namespace

StatusOr<json> EthAddress(ByteSpan private_key) {
  ASSIGN_OR_RETURN(eth::Address a, eth::Address::FromPrivateKey(private_key));
  return json{{"address", a.ToChecksumHex()}};
}

StatusOr<json> EthSignTx(ByteSpan private_key, std::string_view tx_json) {
  ASSIGN_OR_RETURN(json doc, ParseJson(tx_json, "transaction"));
  ASSIGN_OR_RETURN(eth::Transaction tx, eth::TransactionFromJson(doc));
  ASSIGN_OR_RETURN(eth::SignedTransaction signed_tx, eth::SignTransaction(tx, private_key));
  return eth::SignedTransactionSummaryJson(signed_tx);
}

StatusOr<json> EthSignMessage(ByteSpan private_key, ByteSpan message) {
  ASSIGN_OR_RETURN(auto sig, eth::SignPersonalMessage(private_key, message));
  ASSIGN_OR_RETURN(eth::Address a, eth::Address::FromPrivateKey(private_key));
  return json{{"signature", HexEncode(sig, true)}, {"address", a.ToChecksumHex()}};
}

StatusOr<json> EthSignTypedData(ByteSpan private_key, std::string_view typed_data_json) {
  ASSIGN_OR_RETURN(json doc, ParseJson(typed_data_json, "typed data"));
  ASSIGN_OR_RETURN(auto signed_data, eth::SignTypedData(doc, private_key));
  return json{{"signature", HexEncode(signed_data.signature, true)},
              {"digest", HexEncode(signed_data.digest, true)}};
}

StatusOr<json> EthDecodeTx(std::string_view raw_hex) {
  auto raw = HexDecode(TrimSpace(raw_hex), HexPrefix::kRequired);
  if (!raw.ok()) return raw.status().Annotate("raw transaction");
  ASSIGN_OR_RETURN(eth::SignedTransaction tx, eth::DecodeSignedTransaction(*raw));
  return eth::SignedTransactionToJson(tx);
}

StatusOr<json> EthDerive(std::string_view mnemonic, std::string_view passphrase, std::string_view path) {
  ASSIGN_OR_RETURN(SecureBuffer seed, eth::MnemonicToSeed(mnemonic, passphrase));
  ASSIGN_OR_RETURN(eth::EthereumKey key, eth::DeriveEthereumKey(seed.view(), path));
  return json{{"address", key.address.ToChecksumHex()},
              {"publicKey", HexEncode(key.public_key_compressed, true)}};
}

json EthBatchLine(std::string_view line) {
  auto run = [&]() -> StatusOr<json> {
    ASSIGN_OR_RETURN(json req, ParseJson(line, "batch line"));
    if (!req.is_object() || !req.contains("op") || !req["op"].is_string()) {
      return InvalidArgumentError("batch line: expected an object with a string \"op\"");
    }
    const std::string op = req["op"].get<std::string>();
    const json input = req.value("input", json());
    auto key = [&]() -> StatusOr<SecureBuffer> {
      if (!req.contains("key") || !req["key"].is_string()) return InvalidArgumentError("batch line: missing \"key\"");
      return ParsePrivateKeyText(req["key"].get_ref<const std::string&>());
    };
    if (op == "address") {
      ASSIGN_OR_RETURN(SecureBuffer k, key());
      return EthAddress(k.view());
    }
    if (op == "sign-tx") {
      ASSIGN_OR_RETURN(SecureBuffer k, key());
      return EthSignTx(k.view(), input.dump());
    }
    if (op == "sign-message") {
      ASSIGN_OR_RETURN(SecureBuffer k, key());
      if (!input.is_string()) return InvalidArgumentError("sign-message: input must be 0x-hex bytes");
      ASSIGN_OR_RETURN(Bytes msg, HexDecode(input.get<std::string>(), HexPrefix::kRequired));
      return EthSignMessage(k.view(), msg);
    }
    if (op == "sign-typed-data") {
      ASSIGN_OR_RETURN(SecureBuffer k, key());
      return EthSignTypedData(k.view(), input.dump());
    }
    if (op == "decode-tx") {
      if (!input.is_string()) return InvalidArgumentError("decode-tx: input must be a 0x-hex string");
      return EthDecodeTx(input.get<std::string>());
    }
    if (op == "derive") {
      if (!input.is_object() || !input.contains("mnemonic") || !input["mnemonic"].is_string() ||
          !input.contains("path") || !input["path"].is_string() ||
          (input.contains("passphrase") && !input["passphrase"].is_string())) {
        return InvalidArgumentError("derive: input must be {mnemonic, passphrase?, path} strings");
      }
      return EthDerive(input["mnemonic"].get<std::string>(), input.value("passphrase", std::string()),
                       input["path"].get<std::string>());
    }
    return InvalidArgumentError("batch line: unknown op \"" + op + "\"");
  };
  StatusOr<json> out = run();
  if (out.ok()) return *out;
  return json{{"error", std::string(StatusCodeName(out.status().code()))}, {"message", out.status().message()}};
}

void AddEthCommands(CLI::App& app, int* exit_code) {
  CLI::App* eth = app.add_subcommand("eth", "Ethereum keys, transactions, messages and typed data");
  eth->require_subcommand(1);

  // Option storage lives as long as the app (commands run after parsing).
  auto key_file = std::make_shared<std::string>();
  auto mnemonic_file = std::make_shared<std::string>();
  auto passphrase_file = std::make_shared<std::string>();
  auto path = std::make_shared<std::string>();

  auto* address = eth->add_subcommand("address", "Print the address of a private key");
  address->add_option("--key-file", *key_file, "File holding a 0x-hex private key")->required();
  address->callback([=] {
    EmitJson(exit_code, [&]() -> StatusOr<json> {
      ASSIGN_OR_RETURN(SecureBuffer k, LoadKeyFile(*key_file));
      return EthAddress(k.view());
    });
  });

  auto* sign_tx = eth->add_subcommand("sign-tx", "Sign a transaction (ethers JSON on stdin)");
  sign_tx->add_option("--key-file", *key_file, "File holding a 0x-hex private key")->required();
  sign_tx->callback([=] {
    EmitJson(exit_code, [&]() -> StatusOr<json> {
      ASSIGN_OR_RETURN(SecureBuffer k, LoadKeyFile(*key_file));
      ASSIGN_OR_RETURN(std::string in, ReadStdin(kMaxStdin));
      return EthSignTx(k.view(), in);
    });
  });

  auto* sign_msg = eth->add_subcommand("sign-message", "EIP-191 personal_sign of the bytes on stdin");
  sign_msg->add_option("--key-file", *key_file, "File holding a 0x-hex private key")->required();
  sign_msg->callback([=] {
    EmitJson(exit_code, [&]() -> StatusOr<json> {
      ASSIGN_OR_RETURN(SecureBuffer k, LoadKeyFile(*key_file));
      ASSIGN_OR_RETURN(std::string in, ReadStdin(kMaxStdin));
      return EthSignMessage(k.view(), AsBytes(in));
    });
  });

  auto* sign_typed = eth->add_subcommand("sign-typed-data", "EIP-712 signature of {domain,types,primaryType,message}");
  sign_typed->add_option("--key-file", *key_file, "File holding a 0x-hex private key")->required();
  sign_typed->callback([=] {
    EmitJson(exit_code, [&]() -> StatusOr<json> {
      ASSIGN_OR_RETURN(SecureBuffer k, LoadKeyFile(*key_file));
      ASSIGN_OR_RETURN(std::string in, ReadStdin(kMaxStdin));
      return EthSignTypedData(k.view(), in);
    });
  });

  auto* decode = eth->add_subcommand("decode-tx", "Decode a raw signed transaction and recover its sender");
  decode->callback([=] {
    EmitJson(exit_code, [&]() -> StatusOr<json> {
      ASSIGN_OR_RETURN(std::string in, ReadStdin(kMaxStdin));
      return EthDecodeTx(in);
    });
  });

  auto* derive = eth->add_subcommand("derive", "BIP-39/BIP-32 derivation of an address");
  derive->add_option("--mnemonic-file", *mnemonic_file, "File holding the mnemonic")->required();
  derive->add_option("--passphrase-file", *passphrase_file, "File holding the BIP-39 passphrase");
  derive->add_option("--path", *path, "Derivation path, e.g. m/44'/60'/0'/0/0")->required();
  derive->callback([=] {
    EmitJson(exit_code, [&]() -> StatusOr<json> {
      ASSIGN_OR_RETURN(SecureBuffer m, ReadSecretFile(*mnemonic_file));
      SecureBuffer p;
      if (!passphrase_file->empty()) {
        ASSIGN_OR_RETURN(p, ReadSecretFile(*passphrase_file));
      }
      return EthDerive(StripNewline(AsString(m.view())), StripNewline(AsString(p.view())), *path);
    });
  });

  auto* batch = eth->add_subcommand("batch", "Run JSON-lines requests (one result line per input line)");
  batch->callback([=] {
    std::string line;
    while (std::getline(std::cin, line)) {
      if (TrimSpace(line).empty()) continue;
      std::cout << EthBatchLine(line).dump() << "\n";
    }
    std::cout.flush();
    *exit_code = 0;
  });
}

}  // namespace vp::app
