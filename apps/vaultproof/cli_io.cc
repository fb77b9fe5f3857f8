#include "cli_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vp::app {

void PrintError(const Status& status) {
  nlohmann::json err = {{"error", std::string(StatusCodeName(status.code()))}, {"message", status.message()}};
  std::cerr << err.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

void PrintJson(const nlohmann::json& value) {
  std::cout << value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

StatusOr<SecureBuffer> ReadSecretFile(const std::string& path, size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFoundError("cannot open " + path + ": " + std::strerror(errno));
  SecureBuffer buf(max_bytes + 1);
  size_t n = 0;
  while (n < buf.size()) {
    const ssize_t r = ::read(fd, buf.data() + n, buf.size() - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      ::close(fd);
      return UnavailableError("cannot read " + path);
    }
    if (r == 0) break;
    n += static_cast<size_t>(r);
  }
  ::close(fd);
  if (n > max_bytes) return ResourceExhaustedError(path + " is larger than " + std::to_string(max_bytes) + " bytes");
  return SecureBuffer::CopyOf(ByteSpan(buf.data(), n));
}

StatusOr<std::string> ReadStdin(size_t max_bytes) {
  std::string out;
  char chunk[65536];
  while (true) {
    const ssize_t r = ::read(STDIN_FILENO, chunk, sizeof(chunk));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return UnavailableError("cannot read stdin");
    if (r == 0) break;
    out.append(chunk, static_cast<size_t>(r));
    if (out.size() > max_bytes) return ResourceExhaustedError("input larger than " + std::to_string(max_bytes) + " bytes");
  }
  return out;
}

}  // namespace vp::app
