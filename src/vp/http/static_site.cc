#include "vp/http/static_site.h"

#include <filesystem>
#include <fstream>
#include <system_error>

#include "vp/http/envelope.h"

namespace vp::http {
namespace {

namespace fs = std::filesystem;

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Hashed build outputs ("verify-skH0YqBv.js") and nothing that could mean something else to
// a path: no separators, no leading dot, no "..".
bool SafeAssetName(std::string_view name) {
  if (name.empty() || name.size() > 128 || name.front() == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return name.find("..") == std::string_view::npos;
}

// Reads a regular file (links refused), at most max_bytes.
StatusOr<std::string> ReadFile(const fs::path& p, size_t max_bytes) {
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(p, ec);
  if (ec || !fs::is_regular_file(st)) return UnavailableError("web root: " + p.string() + " is not a regular file");
  const uintmax_t size = fs::file_size(p, ec);
  if (ec) return UnavailableError("web root: cannot stat " + p.string());
  if (size > max_bytes) {
    return ResourceExhaustedError("web root: " + p.string() + " is larger than " + std::to_string(max_bytes) +
                                  " bytes");
  }
  std::ifstream in(p, std::ios::binary);
  if (!in) return UnavailableError("web root: cannot read " + p.string());
  std::string body(static_cast<size_t>(size), '\0');
  in.read(body.data(), static_cast<std::streamsize>(body.size()));
  if (in.gcount() != static_cast<std::streamsize>(body.size())) {
    return UnavailableError("web root: short read of " + p.string());
  }
  return body;
}

void SecurityHeaders(Response& r) {
  r.SetHeader("Content-Security-Policy", std::string(StaticSite::kContentSecurityPolicy));
  r.SetHeader("X-Content-Type-Options", "nosniff");
  r.SetHeader("Referrer-Policy", "no-referrer");
  r.SetHeader("X-Frame-Options", "DENY");
  r.SetHeader("Cross-Origin-Opener-Policy", "same-origin");
  r.SetHeader("Cross-Origin-Resource-Policy", "same-origin");
}

}  // namespace

const std::vector<std::pair<std::string, std::string>>& StaticSite::Pages() {
  static const std::vector<std::pair<std::string, std::string>> pages = {
      {"/", "index.html"},          {"/vote", "vote.html"},     {"/aggregate", "aggregate.html"},
      {"/result", "result.html"},   {"/verify", "verify.html"}, {"/console", "console.html"},
  };
  return pages;
}

std::string_view ContentTypeFor(std::string_view name) {
  static const std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".wasm", "application/wasm"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
  };
  for (const auto& [ext, type] : kTypes) {
    if (EndsWith(name, ext)) return type;
  }
  return "application/octet-stream";
}

std::string ResolveWebRoot(const std::string& configured) {
  if (configured != "auto") return configured;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  return (exe.parent_path().parent_path() / "web").string();
}

StatusOr<StaticSite> StaticSite::Load(const std::string& root) {
  StaticSite site;
  site.root_ = root;
  if (root.empty()) return site;
  std::error_code ec;
  const fs::path base(root);
  if (!fs::is_regular_file(base / "index.html", ec)) return site;  // not built (yet)

  auto add = [&site](std::string path, std::string_view name, std::string body, bool immutable) -> Status {
    site.total_bytes_ += body.size();
    if (site.total_bytes_ > kMaxTotalBytes) {
      return ResourceExhaustedError("web root: the pages add up to more than " + std::to_string(kMaxTotalBytes) +
                                    " bytes");
    }
    site.files_[std::move(path)] = File{std::string(ContentTypeFor(name)), std::move(body), immutable};
    return OkStatus();
  };
  for (const auto& [path, file] : Pages()) {
    const fs::path p = base / file;
    if (!fs::exists(fs::symlink_status(p, ec))) continue;  // e.g. console.html before it is written
    ASSIGN_OR_RETURN(std::string body, ReadFile(p, kMaxFileBytes));
    RETURN_IF_ERROR(add(path, file, std::move(body), false));
  }
  const fs::path assets = base / "assets";
  if (fs::is_directory(fs::symlink_status(assets, ec))) {
    for (fs::directory_iterator it(assets, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      std::error_code sec;
      if (!SafeAssetName(name) || !fs::is_regular_file(it->symlink_status(sec))) continue;
      ASSIGN_OR_RETURN(std::string body, ReadFile(it->path(), kMaxFileBytes));
      RETURN_IF_ERROR(add("/assets/" + name, name, std::move(body), true));
    }
    if (ec) return UnavailableError("web root: cannot list " + assets.string());
  }
  site.built_ = true;
  return site;
}

Response StaticSite::Serve(std::string_view path, std::string_view request_id) const {
  const auto it = files_.find(path);
  if (it == files_.end()) {
    Response r = ErrorResponse(
        NotFoundError(built_ ? "no page or asset " + std::string(path)
                             : "the web pages were not built (build the web target, or set [web] root)"),
        request_id);
    SecurityHeaders(r);
    r.SetHeader("Cache-Control", "no-store");
    return r;
  }
  Response r;
  r.content_type = it->second.content_type;
  r.body = it->second.body;
  SecurityHeaders(r);
  r.SetHeader("Cache-Control", it->second.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  return r;
}

}  // namespace vp::http
