// Route matching: exact beats wildcard, longest wildcard prefix wins.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "manifest/router.h"

using namespace wink::manifest;

namespace {

Route route(std::string pattern, size_t component) {
  Route r;
  r.pattern = pattern;
  r.wildcard = pattern.size() >= 4 && pattern.substr(pattern.size() - 4) == "/...";
  r.prefix = r.wildcard ? pattern.substr(0, pattern.size() - 4) : pattern;
  r.component = component;
  return r;
}

std::string match(const Router& router, std::string_view path) {
  const Route* r = router.match(path);
  return r ? r->pattern : "404";
}

TEST(Router, MostSpecificWins) {
  // Declared least specific first: file order must not matter.
  std::vector<Route> routes = {route("/...", 0), route("/api/...", 1), route("/api/v1/...", 2),
                               route("/api/v1/users", 3), route("/api", 4)};
  Router router(routes);
  EXPECT_EQ(match(router, "/"), "/...");
  EXPECT_EQ(match(router, "/index.html"), "/...");
  EXPECT_EQ(match(router, "/api"), "/api");
  EXPECT_EQ(match(router, "/api/"), "/api/...");
  EXPECT_EQ(match(router, "/api/x"), "/api/...");
  EXPECT_EQ(match(router, "/apix"), "/...");
  EXPECT_EQ(match(router, "/api/v1"), "/api/v1/...");
  EXPECT_EQ(match(router, "/api/v1/users"), "/api/v1/users");
  EXPECT_EQ(match(router, "/api/v1/users/7"), "/api/v1/...");
  EXPECT_EQ(match(router, "/api/v2/users"), "/api/...");
}

TEST(Router, NoMatchIs404) {
  std::vector<Route> routes = {route("/hello", 0), route("/static/...", 1)};
  Router router(routes);
  EXPECT_EQ(match(router, "/hello"), "/hello");
  EXPECT_EQ(match(router, "/hello/"), "404");
  EXPECT_EQ(match(router, "/hello/x"), "404");
  EXPECT_EQ(match(router, "/static"), "/static/...");
  EXPECT_EQ(match(router, "/staticx"), "404");
  EXPECT_EQ(match(router, "/"), "404");
  EXPECT_EQ(match(router, ""), "404");
}

TEST(Router, TrailingSlashExactRouteIsDistinct) {
  std::vector<Route> routes = {route("/a", 0), route("/a/", 1)};
  Router router(routes);
  EXPECT_EQ(match(router, "/a"), "/a");
  EXPECT_EQ(match(router, "/a/"), "/a/");
}

// A thread remembers its last match (router and path). Matches that
// alternate between routers with different tables, paths that differ only
// past a shared prefix or in a last byte, a router made where a freed one
// was, and paths too long to remember all get their own answer.
TEST(Router, RememberedMatchesNeverCrossRoutersOrPaths) {
  std::vector<Route> a_routes = {route("/...", 0), route("/a", 1)};
  std::vector<Route> b_routes = {route("/a/...", 2), route("/b", 3)};
  Router a(a_routes), b(b_routes);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(match(a, "/a"), "/a");
    EXPECT_EQ(match(b, "/a"), "/a/...");
    EXPECT_EQ(match(b, "/a"), "/a/...");
    EXPECT_EQ(match(a, "/b"), "/...");
    EXPECT_EQ(match(b, "/b"), "/b");
    EXPECT_EQ(match(b, "/bb"), "404");
    EXPECT_EQ(match(b, "/b"), "/b");
  }
  // More routers than a thread keeps memos for (made in a row, so routers
  // four apart share a memo slot, and they differ here).
  std::vector<std::unique_ptr<Router>> many;
  for (int i = 0; i < 9; ++i) many.push_back(std::make_unique<Router>((i / 4) % 2 ? b_routes : a_routes));
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 9; ++i) EXPECT_EQ(match(*many[i], "/a"), (i / 4) % 2 ? "/a/..." : "/a") << i;
  }
  const std::string long_path = "/a/" + std::string(8192, 'x');
  EXPECT_EQ(match(b, long_path), "/a/...");
  EXPECT_EQ(match(a, long_path), "/...");
  EXPECT_EQ(match(b, long_path.substr(0, long_path.size() - 1) + "y"), "/a/...");
  for (int i = 0; i < 50; ++i) {  // freed and made again, likely at the same address
    auto first = std::make_unique<Router>(a_routes);
    EXPECT_EQ(match(*first, "/a"), "/a");
    first.reset();
    auto second = std::make_unique<Router>(b_routes);
    EXPECT_EQ(match(*second, "/a"), "/a/...") << "round " << i;
  }
}

}  // namespace
