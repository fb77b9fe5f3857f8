#include "apikey_cmd.h"

#include <sys/stat.h>

#include <chrono>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli_io.h"
#include "vp/base/secure.h"
#include "vp/http/api_key_service.h"
#include "vp/store/db.h"

namespace vp::app {
namespace {

using nlohmann::json;

struct KeyFlags {
  std::string data_dir = "var";
  std::string db_url;  // default <data-dir>/vaultproof.db
  std::string role;
  std::string name;
  std::string id;
};

StatusOr<std::unique_ptr<http::ApiKeyService>> OpenKeys(const KeyFlags& f, std::unique_ptr<store::Db>* db) {
  ::mkdir(f.data_dir.c_str(), 0700);
  ASSIGN_OR_RETURN(*db, store::OpenDb(f.db_url.empty() ? f.data_dir + "/vaultproof.db" : f.db_url));
  ASSIGN_OR_RETURN(SecureBuffer pepper, http::ApiKeyService::LoadOrCreatePepper(f.data_dir));
  return std::make_unique<http::ApiKeyService>(**db, std::move(pepper));
}

json KeyJson(const store::ApiKey& k) {
  json j = {{"keyId", k.id}, {"name", k.name}, {"role", k.role}, {"disabled", k.disabled}, {"createdAt", k.created_at_ms}};
  j["lastUsedAt"] = k.last_used_at_ms ? json(*k.last_used_at_ms) : json(nullptr);
  return j;
}


void AddCommon(CLI::App* cmd, KeyFlags& f) {
  cmd->add_option("--data-dir", f.data_dir, "Data directory holding the store and the pepper (default var/)");
  cmd->add_option("--db", f.db_url, "Store URL (postgres://... or a SQLite path); default <data-dir>/vaultproof.db");
}

}  // namespace

void AddApiKeyCommands(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<KeyFlags>();
  CLI::App* keys = app.add_subcommand("api-key", "Manage API keys");
  keys->require_subcommand(1);

  CLI::App* create = keys->add_subcommand("create", "Create a key; prints {\"keyId\",\"secret\"} once");
  AddCommon(create, *f);
  create->add_option("--role", f->role, "admin, operator, approver or auditor")->required();
  create->add_option("--name", f->name, "Human label")->required();
  create->callback([f, exit_code] {
    EmitJson(exit_code, [&]() -> StatusOr<json> {
      std::unique_ptr<store::Db> db;
      ASSIGN_OR_RETURN(auto svc, OpenKeys(*f, &db));
      int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch()).count();
      ASSIGN_OR_RETURN(http::CreatedApiKey k, svc->Create(f->role, f->name, now));
      json out = KeyJson(k.record);
      out["secret"] = k.secret;
      SecureWipe(k.secret.data(), k.secret.size());
      return out;
    });
  });

  CLI::App* list = keys->add_subcommand("list", "List keys (never secrets)");
  AddCommon(list, *f);
  list->callback([f, exit_code] {
    EmitJson(exit_code, [&]() -> StatusOr<json> {
      std::unique_ptr<store::Db> db;
      ASSIGN_OR_RETURN(auto svc, OpenKeys(*f, &db));
      ASSIGN_OR_RETURN(auto all, svc->List());
      json arr = json::array();
      for (const auto& k : all) arr.push_back(KeyJson(k));
      return json{{"keys", arr}};
    });
  });

  CLI::App* disable = keys->add_subcommand("disable", "Disable a key (a running gateway notices within auth.key_cache_ms)");
  AddCommon(disable, *f);
  disable->add_option("--id", f->id, "Key id")->required();
  disable->callback([f, exit_code] {
    EmitJson(exit_code, [&]() -> StatusOr<json> {
      std::unique_ptr<store::Db> db;
      ASSIGN_OR_RETURN(auto svc, OpenKeys(*f, &db));
      RETURN_IF_ERROR(svc->SetDisabled(f->id, true));
      return json{{"keyId", f->id}, {"disabled", true}};
    });
  });
}

}  // namespace vp::app
