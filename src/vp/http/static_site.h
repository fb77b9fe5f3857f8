// The web pages (web/, docs/web.md) as the gateway serves them. The built directory is read
// once at start into memory; only the fixed page paths and the files found directly under
// assets/ at load time are served, so no request path ever reaches the filesystem. Every
// answer carries a strict Content-Security-Policy and the other security headers; assets
// (hashed names) are cached for a year, pages are revalidated each time.
//
//   ASSIGN_OR_RETURN(StaticSite site, StaticSite::Load(ResolveWebRoot(cfg.web_root)));
//   Response r = site.Serve("/vote", req.request_id);   // vote.html, or a JSON 404
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vp/base/status.h"
#include "vp/http/types.h"

namespace vp::http {

class StaticSite {
 public:
  // The pages: request path and the file under the root ("/" -> "index.html").
  static const std::vector<std::pair<std::string, std::string>>& Pages();
  // The router pattern of the assets.
  static constexpr std::string_view kAssetsPattern = "/assets/{name}";
  // Scripts only from this origin (plus compiling WebAssembly), no inline code, no plugins,
  // no framing, fetches to this origin only.
  static constexpr std::string_view kContentSecurityPolicy =
      "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; "
      "font-src 'self'; connect-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; "
      "form-action 'self'; frame-ancestors 'none'";
  static constexpr size_t kMaxFileBytes = 32u << 20;    // one file
  static constexpr size_t kMaxTotalBytes = 128u << 20;  // all of them

  // A site with nothing built: every path answers 404.
  StaticSite() = default;

  // Reads <root>/<page>.html for each page that exists and every regular file directly under
  // <root>/assets/ whose name is 1-128 characters of [A-Za-z0-9._-] not starting with '.'
  // (symbolic links, folders and other names are skipped). An empty root, a root that is
  // missing or holds no index.html loads as not built. A file above kMaxFileBytes, a total
  // above kMaxTotalBytes (kResourceExhausted) or a file that cannot be read (kUnavailable)
  // is an error naming it.
  static StatusOr<StaticSite> Load(const std::string& root);

  bool built() const { return built_; }
  const std::string& root() const { return root_; }
  size_t file_count() const { return files_.size(); }
  size_t total_bytes() const { return total_bytes_; }

  // The answer to GET `path` (the request path, without the query): the page or asset with
  // its Content-Type and cache headers, or a 404 JSON error envelope (saying the pages were
  // not built when nothing was loaded). Never touches the filesystem.
  Response Serve(std::string_view path, std::string_view request_id) const;

 private:
  struct File {
    std::string content_type;
    std::string body;
    bool immutable = false;  // an asset: cached for a year
  };
  std::map<std::string, File, std::less<>> files_;  // by request path
  std::string root_;
  size_t total_bytes_ = 0;
  bool built_ = false;
};

// The Content-Type of a file name by its extension; application/octet-stream when unknown.
std::string_view ContentTypeFor(std::string_view file_name);

// [web] root as configured: "auto" is <folder of the running binary>/../web (the build tree's
// web/ beside bin/), anything else is taken as it is ("" disables the pages).
std::string ResolveWebRoot(const std::string& configured);

}  // namespace vp::http
