// EventSink: where the custody pipeline announces what happened to a transaction, for
// webhooks (webhooks.h). Emit runs inside the store transaction that made the change, so an
// event is recorded if and only if the change is (a transactional outbox: deliveries are
// jobs enqueued on the same connection).
//
// Events (docs/api.md, "Webhooks"): transaction.created, transaction.approved,
// transaction.rejected, transaction.signed, transaction.broadcast, transaction.confirmed,
// transaction.failed. data is the transaction record as GET /v1/transactions/{id} shows it.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "vp/base/status.h"
#include "vp/store/db.h"

namespace vp::wallet {

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual Status Emit(store::Conn& c, std::string_view event, const nlohmann::json& data, int64_t now_ms) = 0;
};

// Records nothing (tests, custody without webhooks).
class NoEvents final : public EventSink {
 public:
  Status Emit(store::Conn&, std::string_view, const nlohmann::json&, int64_t) override { return OkStatus(); }
};

}  // namespace vp::wallet
