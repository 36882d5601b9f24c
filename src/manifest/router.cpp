// Most-specific-wins route matching over two hash maps.
#include "manifest/router.h"

namespace wink::manifest {

Router::Router(const std::vector<Route>& routes) {
  for (const Route& r : routes) {
    if (r.wildcard) {
      prefix_.emplace(r.prefix, &r);
    } else {
      exact_.emplace(r.prefix, &r);
    }
  }
}

const Route* Router::match(std::string_view path) const {
  if (auto it = exact_.find(path); it != exact_.end()) return it->second;
  if (prefix_.empty()) return nullptr;
  // "/a/b/c" tries prefixes "/a/b/c", "/a/b", "/a", "" (the last is "/...").
  std::string_view p = path;
  for (;;) {
    if (auto it = prefix_.find(p); it != prefix_.end()) return it->second;
    if (p.empty()) return nullptr;
    size_t slash = p.rfind('/');
    if (slash == std::string_view::npos) return nullptr;
    p = p.substr(0, slash);
  }
}

}  // namespace wink::manifest
