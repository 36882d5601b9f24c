// The bundle format: round trip, packing an app directory, and hostile bundles
// (every one refused with a reason, none crashes the reader).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/files.h"
#include "control/bundle.h"

namespace wink::control {
namespace {

namespace fs = std::filesystem;

// Builds raw bundle bytes entry by entry, so tests can write what
// write_bundle never would.
struct Raw {
  std::string bytes = std::string("WINKBNDL");
  explicit Raw(uint32_t count, uint32_t version = 1) {
    put<uint32_t>(version);
    put<uint32_t>(count);
  }
  template <typename T>
  Raw& put(T v) {
    for (size_t i = 0; i < sizeof(T); ++i) bytes.push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff));
    return *this;
  }
  Raw& file(const std::string& path, const std::string& data, uint8_t type = 0) {
    put<uint8_t>(type);
    put<uint16_t>(static_cast<uint16_t>(path.size()));
    bytes += path;
    put<uint64_t>(data.size());
    bytes += data;
    return *this;
  }
};

node::Bundle sample() {
  node::Bundle b;
  b.files.push_back({"wink.toml", "[app]\nname = \"x\"\n", false});
  b.files.push_back({"hello.wasm", std::string("\0asm\1\0\0\0", 8), false});
  b.files.push_back({"static/a/b.txt", "hi", true});
  return b;
}

std::string refusal(std::string_view bytes, const BundleLimits& limits = {}) {
  auto r = read_bundle(bytes, limits);
  if (r.ok()) return "";
  return r.error().message;
}

TEST(Bundle, RoundTripKeepsPathsBytesAndModes) {
  auto r = read_bundle(write_bundle(sample()));
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->files.size(), 3u);
  EXPECT_EQ(r->files[1].path, "hello.wasm");
  EXPECT_EQ(r->files[1].bytes, std::string("\0asm\1\0\0\0", 8));
  EXPECT_TRUE(r->files[2].executable);
  EXPECT_FALSE(r->files[0].executable);
}

TEST(Bundle, RefusesPathsThatEscapeOrAreNotPlain) {
  struct Case {
    std::string path, why;
  };
  for (const Case& c : std::vector<Case>{{"../etc/passwd", "\"..\""},
                                         {"a/../../x", "\"..\""},
                                         {"..", "\"..\""},
                                         {"/etc/passwd", "absolute"},
                                         {"./wink2.toml", "\".\""},
                                         {"a//b", "empty path component"},
                                         {"a/", "empty path component"},
                                         {"", "empty path"},
                                         {"a\\..\\b", "backslash"},
                                         {std::string("a\0b", 3), "control character"},
                                         {"a\nb", "control character"}}) {
    std::string why = refusal(Raw(2).file("wink.toml", "").file(c.path, "x").bytes);
    EXPECT_NE(why.find(c.why), std::string::npos) << "path \"" << c.path << "\": " << why;
    EXPECT_NE(why.find("file 2"), std::string::npos) << why;
  }
}

TEST(Bundle, RefusesSymlinksAndUnknownEntryTypes) {
  EXPECT_NE(refusal(Raw(2).file("wink.toml", "").file("link", "/etc/passwd", 2).bytes).find("symlinks are not allowed"),
            std::string::npos);
  EXPECT_NE(refusal(Raw(2).file("wink.toml", "").file("dev", "", 7).bytes).find("unknown entry type 7"), std::string::npos);
}

TEST(Bundle, RefusesDuplicatesAndFilesUsedAsDirectories) {
  EXPECT_NE(refusal(Raw(2).file("wink.toml", "a").file("wink.toml", "b").bytes).find("appears twice"), std::string::npos);
  EXPECT_NE(refusal(Raw(3).file("wink.toml", "").file("a", "").file("a/b", "").bytes).find("below the file \"a\""),
            std::string::npos);
  EXPECT_NE(refusal(Raw(3).file("wink.toml", "").file("a/b", "").file("a", "").bytes).find("needs it as a directory"),
            std::string::npos);
}

TEST(Bundle, RefusesCountsAndSizesOverTheLimits) {
  BundleLimits small;
  small.max_files = 2;
  small.max_file_bytes = 10;
  small.max_total_bytes = 15;
  small.max_path_bytes = 9;
  small.max_depth = 3;
  EXPECT_NE(refusal(Raw(3).bytes, small).find("3 files, more than the limit of 2"), std::string::npos);
  EXPECT_NE(refusal(Raw(1).file("wink.toml", std::string(11, 'x')).bytes, small).find("more than the limit of 10"),
            std::string::npos);
  EXPECT_NE(refusal(Raw(2).file("wink.toml", std::string(10, 'x')).file("b", std::string(6, 'x')).bytes, small)
                .find("add up to more than the limit of 15"),
            std::string::npos);
  EXPECT_NE(refusal(Raw(1).file("abcdefghij", "").bytes, small).find("longer than 9"), std::string::npos);
  EXPECT_NE(refusal(Raw(1).file("a/b/c/d", "").bytes, small).find("levels deep"), std::string::npos);
  // A huge announced size is refused before anything is allocated or read.
  Raw huge(1);
  huge.put<uint8_t>(0).put<uint16_t>(9);
  huge.bytes += "wink.toml";
  huge.put<uint64_t>(UINT64_MAX);
  EXPECT_NE(refusal(huge.bytes).find("more than the limit"), std::string::npos);
  // The default count limit: 4 billion files announced in 16 bytes.
  EXPECT_NE(refusal(Raw(UINT32_MAX).bytes).find("more than the limit of 10000"), std::string::npos);
}

TEST(Bundle, RefusesEveryTruncationAndTrailingBytes) {
  const std::string good = write_bundle(sample());
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(read_bundle(std::string_view(good).substr(0, n)).ok()) << "prefix of " << n << " bytes accepted";
  }
  EXPECT_NE(refusal(good + "x").find("1 unexpected bytes after the last file"), std::string::npos);
}

TEST(Bundle, RefusesBadMagicVersionAndMissingManifest) {
  EXPECT_NE(refusal("PK\3\4 not a bundle").find("bad magic"), std::string::npos);
  EXPECT_NE(refusal(Raw(0, 2).bytes).find("version 2 is not supported"), std::string::npos);
  EXPECT_NE(refusal(Raw(1).file("app/wink.toml", "").bytes).find("no wink.toml at its root"), std::string::npos);
}

TEST(Bundle, SurvivesRandomBytes) {
  // A cheap stand-in for the fuzzer: mutated valid bundles never crash it.
  const std::string good = write_bundle(sample());
  uint64_t seed = 12345;
  for (int i = 0; i < 20000; ++i) {
    std::string m = good;
    for (int k = 0; k < 3; ++k) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      m[(seed >> 33) % m.size()] = static_cast<char>(seed >> 56);
    }
    (void)read_bundle(m);
  }
}

TEST(Bundle, FuzzSeedCorpusIsReadAsExpected) {
  auto minimal = read_bundle(read_text_file(fs::path(WINK_BUNDLE_CORPUS_DIR) / "minimal").value());
  ASSERT_TRUE(minimal.ok()) << minimal.error().message;
  EXPECT_EQ(minimal->files[0].bytes, "[app]");
  auto link = read_bundle(read_text_file(fs::path(WINK_BUNDLE_CORPUS_DIR) / "symlink").value());
  ASSERT_FALSE(link.ok());
  EXPECT_NE(link.error().message.find("symlinks are not allowed"), std::string::npos);
}

class PackApp : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("wink-pack-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "app" / "static" / "css");
    fs::copy_file(fs::path(WINK_GUEST_DIR) / "wagi_file.wasm", dir / "app" / "site.wasm");
    std::ofstream(dir / "app" / "static" / "index.html") << "<h1>hi</h1>";
    std::ofstream(dir / "app" / "static" / "css" / "a.css") << "h1{}";
    std::ofstream(dir / "app" / "notes.txt") << "not named by the manifest";
    write_manifest("site.wasm");
  }
  void TearDown() override { fs::remove_all(dir); }
  void write_manifest(const std::string& source) {
    std::ofstream(dir / "app" / "wink.toml") << "[app]\nname = \"site\"\n[[route]]\npath = \"/...\"\ncomponent = \"site\"\n"
                                                "[component.site]\nsource = \"" + source + "\"\nfiles = [{ source = \"static\", destination = \"/static\" }]\n";
  }
  fs::path dir;
};

TEST_F(PackApp, PacksTheManifestTheModuleAndMappedFilesOnly) {
  auto b = pack_app(dir / "app");
  ASSERT_TRUE(b.ok()) << b.error().message;
  std::vector<std::string> paths;
  for (const auto& f : b->files) paths.push_back(f.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"wink.toml", "site.wasm", "static/css/a.css", "static/index.html"}));
  auto back = read_bundle(write_bundle(*b));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->files[3].bytes, "<h1>hi</h1>");
}

TEST_F(PackApp, RefusesSymlinksInMappedDirectories) {
  fs::create_symlink("/etc/passwd", dir / "app" / "static" / "passwd");
  auto b = pack_app(dir / "app");
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find("is a symlink"), std::string::npos) << b.error().message;
}

TEST_F(PackApp, RefusesModulesOutsideTheAppDirectory) {
  fs::copy_file(dir / "app" / "site.wasm", dir / "outside.wasm");
  write_manifest("../outside.wasm");
  auto b = pack_app(dir / "app");
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find("outside the app directory"), std::string::npos) << b.error().message;
}

}  // namespace
}  // namespace wink::control
