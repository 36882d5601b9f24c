// Route matching: exact beats wildcard, longest wildcard prefix wins.
#include <gtest/gtest.h>

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

}  // namespace
