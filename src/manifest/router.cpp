// Most-specific-wins route matching over two hash maps.
#include "manifest/router.h"

#include <atomic>

namespace wink::manifest {
namespace {

std::atomic<uint64_t> g_next_router_id{1};

// This thread's last match per router slot. A request is matched by two
// routers of its app (the lifecycle's and WAGI's, ids one apart), so each
// keeps its own slot. Paths longer than kMemoPath are not kept (a client's
// 8 KiB path would otherwise be copied on each request).
constexpr size_t kMemoPath = 256;
constexpr size_t kMemoSlots = 4;
struct MatchMemo {
  uint64_t router = 0;
  std::string path;
  const Route* route = nullptr;
};
thread_local MatchMemo t_last_match[kMemoSlots];

}  // namespace

Router::Router(const std::vector<Route>& routes) : id_(g_next_router_id.fetch_add(1, std::memory_order_relaxed)) {
  for (const Route& r : routes) {
    if (r.wildcard) {
      prefix_.emplace(r.prefix, &r);
    } else {
      exact_.emplace(r.prefix, &r);
    }
  }
}

const Route* Router::match(std::string_view path) const {
  MatchMemo& memo = t_last_match[id_ % kMemoSlots];
  if (memo.router == id_ && memo.path == path) return memo.route;
  const Route* route = lookup(path);
  if (path.size() <= kMemoPath) {
    memo.router = id_;
    memo.path.assign(path);
    memo.route = route;
  }
  return route;
}

const Route* Router::lookup(std::string_view path) const {
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
