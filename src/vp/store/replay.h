// ReplayRepo: signatures seen recently, shared by every gateway on one PostgreSQL, so a
// signed request replayed inside the clock-skew window is refused by all of them.
//
//   ASSIGN_OR_RETURN(bool fresh, replay.Remember(key_id, sig_hex, ts_ms + 300'000, now_ms));
//   if (!fresh) return UnauthenticatedError("replayed signature");
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vp/base/status.h"
#include "vp/store/db.h"

namespace vp::store {

class ReplayRepo {
 public:
  explicit ReplayRepo(Db& db) : db_(db) {}

  // Records (key_id, signature) until expires_at_ms. Returns true when it was not seen
  // before (or only in a record that had expired by now_ms), false for a replay. Atomic:
  // of two concurrent calls with the same pair exactly one returns true.
  // kInvalidArgument for an empty key_id or signature.
  StatusOr<bool> Remember(std::string_view key_id, std::string_view signature_hex, int64_t expires_at_ms,
                          int64_t now_ms);
  // Many at once, in one transaction (and on PostgreSQL one statement): the group commit of
  // gateways' replay checks. The result has one entry per item, true for a first sighting;
  // of duplicates inside one batch only the first can be true.
  struct Item {
    std::string key_id;
    std::string signature_hex;
    int64_t expires_at_ms = 0;
  };
  StatusOr<std::vector<bool>> RememberMany(const std::vector<Item>& items, int64_t now_ms);
  // Deletes records expired at now_ms; returns how many.
  StatusOr<int64_t> Sweep(int64_t now_ms);

 private:
  Db& db_;
};

}  // namespace vp::store
