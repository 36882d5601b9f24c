// wink.toml parsing: a full manifest loads with every field; each kind of
// mistake is refused with file:line:column and a reason.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "manifest/manifest.h"

namespace fs = std::filesystem;
using namespace wink::manifest;

namespace {

class ManifestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("wink-manifest-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "static");
    std::ofstream(dir_ / "app.wasm") << "\0asm";
  }
  void TearDown() override { fs::remove_all(dir_); }

  wink::Result<Manifest> parse_text(const std::string& text) {
    return parse(text, dir_ / "wink.toml");
  }
  // The error message with the temp dir prefix replaced by "wink.toml".
  std::string error_of(const std::string& text) {
    auto r = parse_text(text);
    if (r.ok()) return "(no error)";
    std::string msg = r.error().message;
    std::string prefix = (dir_ / "wink.toml").string();
    for (size_t pos; (pos = msg.find(prefix)) != std::string::npos;) {
      msg.replace(pos, prefix.size(), "wink.toml");
    }
    return msg;
  }

  fs::path dir_;
};

const char* kHeader = R"([app]
name = "demo"

[component.web]
source = "app.wasm"
)";

TEST_F(ManifestTest, FullExampleLoadsEveryField) {
  auto m = parse_text(R"(manifest_version = 1

[app]
name = "demo"
description = "a demo"

[[route]]
path = "/"
component = "web"

[[route]]
path = "/api/..."
component = "api"

[component.web]
source = "app.wasm"

[component.api]
source = "app.wasm"
executor = "wagi"
entrypoint = "_start"
environment = { GREETING = "hi", MODE = "test" }
argv = "${SCRIPT_NAME} ${ARGS}"
files = [ { source = "static", destination = "/static" } ]
memory_limit = "64MiB"
deadline = "250ms"
)");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->app_name, "demo");
  EXPECT_EQ(m->description, "a demo");
  ASSERT_EQ(m->components.size(), 2u);
  ASSERT_EQ(m->routes.size(), 2u);
  EXPECT_EQ(m->routes[0].pattern, "/");
  EXPECT_FALSE(m->routes[0].wildcard);
  EXPECT_EQ(m->routes[1].prefix, "/api");
  EXPECT_TRUE(m->routes[1].wildcard);
  const Component& api = m->component_of(m->routes[1]);
  EXPECT_EQ(api.id, "api");
  EXPECT_EQ(api.source, dir_ / "app.wasm");
  EXPECT_EQ(api.executor, Executor::kWagi);
  ASSERT_EQ(api.environment.size(), 2u);
  EXPECT_EQ(api.environment[0].first, "GREETING");
  EXPECT_EQ(api.environment[0].second, "hi");
  EXPECT_EQ(api.argv.value_or(""), "${SCRIPT_NAME} ${ARGS}");
  ASSERT_EQ(api.files.size(), 1u);
  EXPECT_EQ(api.files[0].host_dir, dir_ / "static");
  EXPECT_EQ(api.files[0].guest_dir, "/static");
  EXPECT_EQ(api.memory_limit_bytes, 64ull << 20);
  EXPECT_EQ(api.deadline, std::chrono::milliseconds(250));
  // Defaults.
  const Component& web = m->component_of(m->routes[0]);
  EXPECT_EQ(web.entrypoint, "_start");
  EXPECT_EQ(web.memory_limit_bytes, 128ull << 20);
  EXPECT_EQ(web.deadline, std::chrono::seconds(30));
  EXPECT_FALSE(web.argv.has_value());
}

TEST_F(ManifestTest, LoadFromDirectoryFindsWinkToml) {
  std::ofstream(dir_ / "wink.toml") << kHeader << "[[route]]\npath = \"/\"\ncomponent = \"web\"\n";
  auto m = load(dir_);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->file, dir_ / "wink.toml");
  auto missing = load(dir_ / "nope.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("nope.toml"), std::string::npos);
}

TEST_F(ManifestTest, UnknownTopLevelField) {
  EXPECT_EQ(error_of(std::string("colour = \"red\"\n") + kHeader +
                     "[[route]]\npath = \"/\"\ncomponent = \"web\"\n"),
            "wink.toml:1:1: unknown field \"colour\" in the manifest (expected one of: "
            "manifest_version, app, route, component, variables)");
}

TEST_F(ManifestTest, UnknownComponentField) {
  // The list of known fields grows with features; check its start and position.
  const std::string error = error_of(std::string(kHeader) + "memory = \"64MiB\"\n" +
                                     "[[route]]\npath = \"/\"\ncomponent = \"web\"\n");
  EXPECT_EQ(error.rfind("wink.toml:6:1: unknown field \"memory\" in [component.web] (expected one of: "
                        "source, executor, entrypoint, environment, argv, files, memory_limit, deadline, "
                        "description",
                        0),
            0u)
      << error;
  EXPECT_NE(error.find("key_value_stores, allowed_outbound_hosts, variables"), std::string::npos) << error;
}

TEST_F(ManifestTest, MissingModuleFile) {
  EXPECT_EQ(error_of("[app]\nname = \"demo\"\n[component.web]\nsource = \"missing.wasm\"\n"
                     "[[route]]\npath = \"/\"\ncomponent = \"web\"\n"),
            "wink.toml:4:10: component.web.source: module file " + (dir_ / "missing.wasm").string() +
                " does not exist");
}

TEST_F(ManifestTest, MissingSource) {
  EXPECT_EQ(error_of("[app]\nname = \"demo\"\n[component.web]\nexecutor = \"wagi\"\n"
                     "[[route]]\npath = \"/\"\ncomponent = \"web\"\n"),
            "wink.toml:3:1: component.web: missing required field \"source\" (the module's .wasm "
            "file)");
}

TEST_F(ManifestTest, DuplicateRoute) {
  EXPECT_EQ(error_of(std::string(kHeader) +
                     "[[route]]\npath = \"/a\"\ncomponent = \"web\"\n"
                     "[[route]]\npath = \"/a\"\ncomponent = \"web\"\n"),
            "wink.toml:10:8: duplicate route \"/a\" (already defined at line 7)");
}

TEST_F(ManifestTest, ConflictingRoute) {
  EXPECT_EQ(error_of(std::string(kHeader) +
                     "[component.other]\nsource = \"app.wasm\"\n"
                     "[[route]]\npath = \"/api/...\"\ncomponent = \"web\"\n"
                     "[[route]]\npath = \"/api/...\"\ncomponent = \"other\"\n"),
            "wink.toml:12:8: conflicting route \"/api/...\": already mapped to component \"web\" "
            "at line 9");
}

TEST_F(ManifestTest, HealthzIsReserved) {
  EXPECT_EQ(error_of(std::string(kHeader) + "[[route]]\npath = \"/healthz\"\ncomponent = \"web\"\n"),
            "wink.toml:7:8: route \"/healthz\" conflicts with wink's built-in health check");
}

TEST_F(ManifestTest, RouteToUnknownComponent) {
  EXPECT_EQ(error_of(std::string(kHeader) + "[[route]]\npath = \"/\"\ncomponent = \"nope\"\n"),
            "wink.toml:8:13: route \"/\": no component named \"nope\"");
}

TEST_F(ManifestTest, BadRouteSyntax) {
  auto err = [&](const std::string& path) {
    return error_of(std::string(kHeader) + "[[route]]\npath = \"" + path +
                    "\"\ncomponent = \"web\"\n");
  };
  EXPECT_EQ(err("api"), "wink.toml:7:8: route \"api\": must start with '/'");
  EXPECT_EQ(err("/a/.../b"),
            "wink.toml:7:8: route \"/a/.../b\": \"...\" is only allowed as the last segment "
            "(\"/prefix/...\")");
  EXPECT_EQ(err("/a?x=1"),
            "wink.toml:7:8: route \"/a?x=1\": must not contain '?' or '#' (routes match the path "
            "only)");
  EXPECT_NE(err("/a//b").find("empty segments"), std::string::npos);
  EXPECT_NE(err("/a/../b").find("\"..\" segments"), std::string::npos);
  EXPECT_EQ(err("/a/"), "(no error)");
  EXPECT_EQ(err("/..."), "(no error)");
}

TEST_F(ManifestTest, WrongTypes) {
  EXPECT_EQ(error_of(std::string(kHeader) + "memory_limit = 64\n" +
                     "[[route]]\npath = \"/\"\ncomponent = \"web\"\n"),
            "wink.toml:6:16: component.web.memory_limit: expected a string, got integer");
  EXPECT_EQ(error_of(std::string(kHeader) + "environment = { PORT = 8080 }\n" +
                     "[[route]]\npath = \"/\"\ncomponent = \"web\"\n"),
            "wink.toml:6:24: component.web.environment.PORT: expected a string, got integer "
            "(quote it: PORT = \"...\")");
  EXPECT_EQ(error_of(std::string(kHeader) + "files = \"static\"\n" +
                     "[[route]]\npath = \"/\"\ncomponent = \"web\"\n"),
            "wink.toml:6:9: component.web.files: expected an array of { source, destination } "
            "tables, got string");
}

TEST_F(ManifestTest, BadValues) {
  auto err = [&](const std::string& line) {
    return error_of(std::string(kHeader) + line + "\n[[route]]\npath = \"/\"\ncomponent = \"web\"\n");
  };
  EXPECT_EQ(err("memory_limit = \"64 MiB\""),
            "wink.toml:6:16: component.web.memory_limit: unknown size unit \" MiB\" (use B, KiB, "
            "MiB, GiB, KB, MB or GB)");
  EXPECT_EQ(err("memory_limit = \"8GiB\""),
            "wink.toml:6:16: component.web.memory_limit: must be between 64KiB and 4GiB, got "
            "\"8GiB\"");
  // The bounds themselves: 64 KiB and 4 GiB are accepted, a byte beyond is not.
  for (const char* bad : {"65535", "4294967297", "4097MiB", "0"}) {
    EXPECT_EQ(err(std::string("memory_limit = \"") + bad + "\""),
              std::string("wink.toml:6:16: component.web.memory_limit: must be between 64KiB and 4GiB, got \"") +
                  bad + "\"");
  }
  EXPECT_EQ(err("memory_limit = \"64KiB\""), "(no error)");
  EXPECT_EQ(err("memory_limit = \"4GiB\""), "(no error)");
  EXPECT_EQ(err("memory_limit = \"4294967296\""), "(no error)");
  EXPECT_EQ(err("deadline = \"5\""),
            "wink.toml:6:12: component.web.deadline: expected a duration like \"5s\" or "
            "\"250ms\", got \"5\"");
  EXPECT_EQ(err("deadline = \"0s\""),
            "wink.toml:6:12: component.web.deadline: must be more than 0 and at most 24h, got "
            "\"0s\"");
  EXPECT_EQ(err("executor = \"cgi\""),
            "wink.toml:6:12: component.web.executor: unknown executor \"cgi\" (supported: "
            "\"wagi\", \"reactor\")");
  EXPECT_EQ(err("files = [ { source = \"nodir\", destination = \"/x\" } ]"),
            "wink.toml:6:22: component.web.files.source: directory " + (dir_ / "nodir").string() +
                " does not exist");
  EXPECT_EQ(err("files = [ { source = \"static\", destination = \"x\" } ]"),
            "wink.toml:6:46: component.web.files.destination \"x\": must be an absolute guest "
            "path like \"/static\"");
  EXPECT_NE(err("files = [ { source = \"static\", destination = \"/x\", mode = \"rw\" } ]")
                .find("unknown field \"mode\" in component.web.files entry"),
            std::string::npos);
}

TEST_F(ManifestTest, InvalidTomlHasPosition) {
  std::string e = error_of("[app]\nname = \"demo\nx\n");
  EXPECT_EQ(e.rfind("wink.toml:2:", 0), 0u) << e;
  EXPECT_NE(e.find("invalid TOML"), std::string::npos);
}

TEST_F(ManifestTest, MissingAppAndRoutes) {
  std::string e = error_of("[component.web]\nsource = \"app.wasm\"\n");
  EXPECT_NE(e.find("wink.toml: missing [app] table"), std::string::npos) << e;
  EXPECT_NE(e.find("wink.toml: no routes"), std::string::npos) << e;
}

TEST_F(ManifestTest, AllErrorsReportedTogether) {
  std::string e = error_of(std::string(kHeader) + "bogus = 1\ndeadline = \"soon\"\n" +
                           "[[route]]\npath = \"/\"\ncomponent = \"web\"\n");
  EXPECT_NE(e.find("wink.toml:6:1: unknown field \"bogus\""), std::string::npos) << e;
  EXPECT_NE(e.find("wink.toml:7:12: component.web.deadline"), std::string::npos) << e;
}

TEST(Units, Sizes) {
  EXPECT_EQ(*parse_size("64MiB"), 64ull << 20);
  EXPECT_EQ(*parse_size("512KiB"), 512ull << 10);
  EXPECT_EQ(*parse_size("1GiB"), 1ull << 30);
  EXPECT_EQ(*parse_size("100MB"), 100000000ull);
  EXPECT_EQ(*parse_size("65536"), 65536ull);
  EXPECT_FALSE(parse_size("").ok());
  EXPECT_FALSE(parse_size("-1MiB").ok());
  EXPECT_FALSE(parse_size("1.5MiB").ok());
  EXPECT_FALSE(parse_size("99999999999999999999GiB").ok());
}

TEST(Units, Durations) {
  EXPECT_EQ(*parse_duration("5s"), std::chrono::seconds(5));
  EXPECT_EQ(*parse_duration("250ms"), std::chrono::milliseconds(250));
  EXPECT_EQ(*parse_duration("100us"), std::chrono::microseconds(100));
  EXPECT_EQ(*parse_duration("2m"), std::chrono::minutes(2));
  EXPECT_EQ(*parse_duration("1h"), std::chrono::hours(1));
  EXPECT_FALSE(parse_duration("5").ok());
  EXPECT_FALSE(parse_duration("5 s").ok());
  EXPECT_FALSE(parse_duration("s").ok());
}

}  // namespace

#include <sstream>

namespace {

TEST(ManifestCorpus, EveryInputParsesOrFailsWithPosition) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(WINK_MANIFEST_CORPUS_DIR)) {
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    auto m = parse(ss.str(), "/nonexistent/wink.toml");
    if (!m.ok()) {
      EXPECT_EQ(m.error().message.rfind("/nonexistent/wink.toml", 0), 0u);
    }
    ++n;
  }
  EXPECT_GT(n, 0);
}

}  // namespace
