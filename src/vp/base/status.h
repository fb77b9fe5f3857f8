// Status and StatusOr<T>: errors as values, with the one code vocabulary of the project.
//
//   vp::StatusOr<Bytes> b = vp::HexDecode(text);
//   if (!b.ok()) return b.status();
//   ASSIGN_OR_RETURN(Bytes raw, vp::HexDecode(text));
//   RETURN_IF_ERROR(Validate(raw));
//
// Choosing a code: kInvalidArgument for malformed input; kUnauthenticated when the caller is
// unknown; kPermissionDenied when known but not allowed; kResourceExhausted for quotas and
// size limits; kFailedPrecondition when the system is not in the state the call needs;
// kUnavailable for transient failures worth retrying; kInternal for bugs, never for input.
#pragma once

#include <cassert>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace vp {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument,
  kUnauthenticated,
  kPermissionDenied,
  kNotFound,
  kAlreadyExists,
  kResourceExhausted,
  kFailedPrecondition,
  kUnavailable,
  kInternal,
};

// "INVALID_ARGUMENT", "NOT_FOUND", ... (the form used in JSON error envelopes).
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "INVALID_ARGUMENT: message"
  std::string ToString() const;
  // Prefixes the message with context ("rlp: " + message) and keeps the code.
  Status Annotate(std::string_view context) const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status OkStatus() { return Status(); }
inline Status InvalidArgumentError(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status UnauthenticatedError(std::string m) { return {StatusCode::kUnauthenticated, std::move(m)}; }
inline Status PermissionDeniedError(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }
inline Status NotFoundError(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExistsError(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status ResourceExhaustedError(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status FailedPreconditionError(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status UnavailableError(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status InternalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// Holds either a value or a non-OK Status. Accessing value() of an error is a bug (asserts).
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const Status& s) : status_(s) { assert(!s.ok() && "StatusOr from OK status"); FixOk(); }
  StatusOr(Status&& s) : status_(std::move(s)) { assert(!status_.ok() && "StatusOr from OK status"); FixOk(); }
  template <typename U = T,
            typename = std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                        !std::is_same_v<std::decay_t<U>, Status> &&
                                        !std::is_same_v<std::decay_t<U>, StatusOr<T>>>>
  StatusOr(U&& v) : has_value_(true) { new (&storage_) T(std::forward<U>(v)); }

  StatusOr(const StatusOr& o) : status_(o.status_), has_value_(o.has_value_) {
    if (has_value_) new (&storage_) T(o.ref());
  }
  StatusOr(StatusOr&& o) noexcept(std::is_nothrow_move_constructible_v<T>)
      : status_(std::move(o.status_)), has_value_(o.has_value_) {
    if (has_value_) new (&storage_) T(std::move(o.ref()));
  }
  StatusOr& operator=(StatusOr o) noexcept(std::is_nothrow_move_constructible_v<T>) {
    Reset();
    status_ = std::move(o.status_);
    has_value_ = o.has_value_;
    if (has_value_) new (&storage_) T(std::move(o.ref()));
    return *this;
  }
  ~StatusOr() { Reset(); }

  bool ok() const { return has_value_; }
  const Status& status() const& { return status_; }
  Status status() && { return std::move(status_); }

  T& value() & { assert(has_value_); return ref(); }
  const T& value() const& { assert(has_value_); return ref(); }
  T&& value() && { assert(has_value_); return std::move(ref()); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  void FixOk() {
    if (status_.ok()) status_ = InternalError("StatusOr constructed from OK status");
  }
  T& ref() { return *std::launder(reinterpret_cast<T*>(&storage_)); }
  const T& ref() const { return *std::launder(reinterpret_cast<const T*>(&storage_)); }
  void Reset() {
    if (has_value_) { ref().~T(); has_value_ = false; }
  }

  Status status_;
  bool has_value_ = false;
  alignas(T) unsigned char storage_[sizeof(T)];
};

namespace internal {
inline const Status& GetStatus(const Status& s) { return s; }
template <typename T>
const Status& GetStatus(const StatusOr<T>& s) { return s.status(); }
}  // namespace internal

}  // namespace vp

#define VP_CONCAT_INNER(a, b) a##b
#define VP_CONCAT(a, b) VP_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                                              \
  do {                                                                     \
    const auto& vp_status_or_ = (expr);                                    \
    if (!vp_status_or_.ok()) return ::vp::internal::GetStatus(vp_status_or_); \
  } while (0)

#define ASSIGN_OR_RETURN(lhs, expr) \
  VP_ASSIGN_OR_RETURN_IMPL(VP_CONCAT(vp_statusor_, __LINE__), lhs, expr)

#define VP_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return std::move(tmp).status(); \
  lhs = std::move(tmp).value()
