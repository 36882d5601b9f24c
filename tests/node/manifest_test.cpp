// The manifest fields a node deploy adds: [app] hosts and [app.quotas],
// checked with file:line:col; host and app name rules.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "manifest/manifest.h"
#include "support/wink_process.h"

namespace wink::manifest {
namespace {

namespace fs = std::filesystem;

Result<Manifest> parse_app(const std::string& app_extra) {
  static fs::path dir = [] {
    auto d = test::scratch_dir("node-manifest");
    std::ofstream(d / "m.wasm") << "";
    return d;
  }();
  std::string text = "[app]\nname = \"shop\"\n" + app_extra +
                     "\n[[route]]\npath = \"/\"\ncomponent = \"c\"\n[component.c]\nsource = \"m.wasm\"\n";
  return parse(text, dir / "wink.toml");
}

TEST(NodeManifest, HostsAreParsedWithTheirPositions) {
  auto m = parse_app("hosts = [\"shop.example.com\", \"www.shop.example.com\"]\n");
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_EQ(m->hosts.size(), 2u);
  EXPECT_EQ(m->hosts[0].value, "shop.example.com");
  EXPECT_EQ(m->hosts[1].line, 3u);
  EXPECT_EQ(m->hosts[1].column, 30u);
  EXPECT_TRUE(parse_app("")->hosts.empty());
}

TEST(NodeManifest, BadHostsAreRefusedWithFileLineColumn) {
  struct Case {
    std::string hosts, message;
  };
  for (const Case& c : std::vector<Case>{
           {"\"Shop.example.com\"", "wink.toml:3:10: app.hosts: \"Shop.example.com\" may only use lowercase letters"},
           {"\"shop..com\"", "wink.toml:3:10: app.hosts: \"shop..com\" has an empty label"},
           {"\"-a.com\"", "has a label starting or ending with '-'"},
           {"\"a.com:8080\"", "may only use lowercase letters, digits, '-' and '.'"},
           {"\"*.a.com\"", "may only use lowercase letters"},
           {"\"" + std::string(64, 'a') + ".com\"", "has a label longer than 63 bytes"},
           {"\"\"", "must not be empty"},
           {"\"a.com\", \"a.com\"", "wink.toml:3:19: app.hosts: \"a.com\" is listed twice"},
           {"42", "app.hosts: expected a string, got integer"},
       }) {
    auto m = parse_app("hosts = [" + c.hosts + "]\n");
    ASSERT_FALSE(m.ok()) << c.hosts;
    EXPECT_NE(m.error().message.find(c.message), std::string::npos) << m.error().message;
    EXPECT_NE(m.error().message.find("wink.toml:3:"), std::string::npos) << m.error().message;
  }
  auto not_array = parse_app("hosts = \"a.com\"\n");
  ASSERT_FALSE(not_array.ok());
  EXPECT_NE(not_array.error().message.find("wink.toml:3:9: app.hosts: expected an array"), std::string::npos)
      << not_array.error().message;
  std::string longest;
  for (int i = 0; i < 4; ++i) longest += std::string(i < 3 ? 63 : 61, 'a') + (i < 3 ? "." : "");
  ASSERT_EQ(longest.size(), 253u);
  EXPECT_TRUE(parse_app("hosts = [\"" + longest + "\"]\n").ok());
  EXPECT_FALSE(parse_app("hosts = [\"" + longest + "a\"]\n").ok());
}

TEST(NodeManifest, AppQuotasAreParsedAndChecked) {
  auto m = parse_app("quotas = { active_instances = 2, total_instances = 5, memory_per_instance = \"32MiB\", "
                     "memory_total = \"1GiB\" }\n");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->quotas.active_instances, 2u);
  EXPECT_EQ(m->quotas.total_instances, 5u);
  EXPECT_EQ(m->quotas.memory_per_instance, 32ull << 20);
  EXPECT_EQ(m->quotas.memory_total, 1ull << 30);
  EXPECT_FALSE(parse_app("")->quotas.any());
  for (auto [text, message] : std::vector<std::pair<std::string, std::string>>{
           {"quotas = { active_instances = -1 }", "wink.toml:3:31: app.quotas.active_instances: expected a count"},
           {"quotas = { total_instances = 1000001 }", "app.quotas.total_instances: expected a count"},
           {"quotas = { memory_total = 5 }", "app.quotas.memory_total: expected a size"},
           {"quotas = { memory_total = \"lots\" }", "wink.toml:3:27: app.quotas.memory_total:"},
           {"quotas = { cpu = 1 }", "wink.toml:3:12: unknown field \"cpu\" in app.quotas"},
           {"quotas = 3", "app.quotas: expected a table"},
       }) {
    auto bad = parse_app(text + "\n");
    ASSERT_FALSE(bad.ok()) << text;
    EXPECT_NE(bad.error().message.find(message), std::string::npos) << bad.error().message;
  }
}

TEST(NodeManifest, AppNamesAreOneDnsLabel) {
  EXPECT_EQ(check_app_name("shop"), "");
  EXPECT_EQ(check_app_name("a"), "");
  EXPECT_EQ(check_app_name("shop-2"), "");
  EXPECT_EQ(check_app_name(std::string(63, 'x')), "");
  EXPECT_NE(check_app_name(std::string(64, 'x')), "");
  EXPECT_NE(check_app_name(""), "");
  EXPECT_NE(check_app_name("Shop"), "");
  EXPECT_NE(check_app_name("my_shop"), "");
  EXPECT_NE(check_app_name("a.b"), "");
  EXPECT_NE(check_app_name("-a"), "");
  EXPECT_NE(check_app_name("a-"), "");
  EXPECT_NE(check_app_name(std::string("a\0b", 3)), "");
}

}  // namespace
}  // namespace wink::manifest
