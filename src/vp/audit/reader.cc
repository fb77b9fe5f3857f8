// AuditReader: the query behind GET /v1/audit/events (filters, cursor pagination by seq).
#include <string>

#include "vp/audit/audit.h"
#include "vp/audit/rows.h"

namespace vp::audit {

StatusOr<AuditPage> AuditReader::Query(const AuditFilter& filter, std::optional<int64_t> cursor,
                                       size_t limit, AuditOrder order) const {
  if (limit == 0 || limit > kMaxLimit) {
    return InvalidArgumentError("audit: limit must be between 1 and " + std::to_string(kMaxLimit));
  }
  if (cursor && *cursor < 0) return InvalidArgumentError("audit: cursor must not be negative");
  if (filter.since_ms && filter.until_ms && *filter.since_ms > *filter.until_ms) {
    return InvalidArgumentError("audit: the time range ends before it starts");
  }
  const bool newest_first = order == AuditOrder::kNewestFirst;
  // Only the filters present become SQL, so every parameter has a column to type it.
  std::string sql = "SELECT ";
  sql += internal::kRecordColumns;
  sql += " FROM audit_records WHERE 1 = 1";
  store::Params params;
  auto add = [&](std::string_view condition, store::Value v) {
    params.push_back(std::move(v));
    sql += " AND ";
    sql += condition;
    sql += " $";
    sql += std::to_string(params.size());
  };
  if (cursor) add(newest_first ? "seq <" : "seq >", *cursor);
  if (filter.principal) add("principal =", *filter.principal);
  if (filter.action) add("action =", *filter.action);
  if (filter.outcome) add("outcome =", *filter.outcome);
  if (filter.since_ms) add("time_ms >=", *filter.since_ms);
  if (filter.until_ms) add("time_ms <", *filter.until_ms);
  sql += newest_first ? " ORDER BY seq DESC" : " ORDER BY seq ASC";
  // One extra row tells whether another page exists.
  sql += " LIMIT " + std::to_string(limit + 1);

  store::Rows rows;
  RETURN_IF_ERROR(db_.WithConn([&](store::Conn& c) -> Status {
    ASSIGN_OR_RETURN(rows, c.Query(sql, params));
    return OkStatus();
  }));
  AuditPage page;
  const size_t n = std::min(limit, rows.size());
  page.records.reserve(n);
  for (size_t i = 0; i < n; ++i) page.records.push_back(internal::RecordFromRow(rows, i));
  if (rows.size() > limit) page.next_cursor = page.records.back().seq;
  return page;
}

StatusOr<AuditRecord> AuditReader::Get(int64_t seq) const {
  std::string sql = "SELECT ";
  sql += internal::kRecordColumns;
  sql += " FROM audit_records WHERE seq = $1";
  store::Rows rows;
  RETURN_IF_ERROR(db_.WithConn([&](store::Conn& c) -> Status {
    ASSIGN_OR_RETURN(rows, c.Query(sql, {store::Value(seq)}));
    return OkStatus();
  }));
  if (rows.empty()) return NotFoundError("audit: no record with seq " + std::to_string(seq));
  return internal::RecordFromRow(rows, 0);
}

}  // namespace vp::audit
