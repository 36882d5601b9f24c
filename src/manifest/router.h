// Request path -> route. Most specific wins: an exact route beats any
// wildcard, and among wildcards the longest prefix wins. (WAGI takes the first
// match in file order instead; docs/manifest.md explains the difference.)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "manifest/manifest.h"

namespace wink::manifest {

class Router {
 public:
  explicit Router(const std::vector<Route>& routes);

  // The route for a raw request path (without query), or nullptr (404).
  // Cost: one hash lookup per path segment; none when the same thread's last
  // match was for this router and path (a request is matched by each layer
  // it passes: ingress, lifecycle, WAGI).
  const Route* match(std::string_view path) const;

 private:
  const Route* lookup(std::string_view path) const;

  const uint64_t id_;  // unique in the process: a thread's memo names its router by it
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, const Route*, Hash, std::equal_to<>> exact_;
  std::unordered_map<std::string, const Route*, Hash, std::equal_to<>> prefix_;
};

}  // namespace wink::manifest
