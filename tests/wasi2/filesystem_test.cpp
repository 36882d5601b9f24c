// wasi:filesystem: read-only access beneath the preopened directories, with
// the same kernel-enforced resolution as preview1 (no "..", absolute paths
// or symlinks out), every mutating call refused with read-only, and a cap
// on the descriptors one instance may hold.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "harness.h"

namespace wink::wasi2 {
namespace {

using component::Value;
using testing::h;
using testing::Host;
using testing::rep;
using testing::unwrap;

const char* kFs = "wasi:filesystem/types";

Value path_flags(bool follow) { return Value::flags({follow}); }
Value open_flags(bool create = false, bool directory = false) { return Value::flags({create, directory, false, false}); }
Value desc_flags(bool write = false) { return Value::flags({true, write, false, false, false, false}); }
Value fs_err(uint32_t code) { return Value::err(Value::enumeration(code)); }
constexpr uint32_t kNoEntry = 20, kNotPermitted = 31, kReadOnly = 33, kQuota = 6;

class Wasi2Filesystem : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_.path / "a.txt") << "alpha";
    std::filesystem::create_directories(dir_.path / "sub");
    std::ofstream(dir_.path / "sub" / "b.txt") << "bravo!";
    std::ofstream(outside_.path / "secret") << "do not read";
    std::filesystem::create_symlink(outside_.path / "secret", dir_.path / "escape");
    std::filesystem::create_symlink("../a.txt", dir_.path / "sub" / "up");
    Config config;
    config.preopens.push_back({dir_.path, "/data", false});
    config.limits.max_open_files = 3;
    host_ = std::make_unique<Host>(std::move(config));
    Value dirs = host_->ok("wasi:filesystem/preopens", "get-directories");
    ASSERT_EQ(dirs.items.size(), 1u);
    EXPECT_EQ(dirs.items[0].items[1].str, "/data");
    root_ = rep(dirs.items[0].items[0]);
  }

  Value open(const std::string& path, bool follow = true, Value of = open_flags(), Value df = desc_flags()) {
    return host_->ok(kFs, "[method]descriptor.open-at", {h(root_), path_flags(follow), Value::string(path), of, df});
  }

  testing::ScratchDir dir_{"fs"};
  testing::ScratchDir outside_{"fs-outside"};
  std::unique_ptr<Host> host_;
  uint32_t root_ = 0;
};

TEST_F(Wasi2Filesystem, FilesReadThroughReadAndStreams) {
  WASI2_NEED_WIT();
  Host& host = *host_;
  uint32_t f = rep(unwrap(open("a.txt")));
  Value r = unwrap(host.ok(kFs, "[method]descriptor.read", {h(f), Value::u(100), Value::u(1)}));
  EXPECT_EQ(r.items[0].str, "lpha");
  EXPECT_EQ(r.items[1].bits, 1u);  // end of file
  uint32_t in = rep(unwrap(host.ok(kFs, "[method]descriptor.read-via-stream", {h(f), Value::u(0)})));
  EXPECT_EQ(unwrap(host.ok("wasi:io/streams", "[method]input-stream.read", {h(in), Value::u(3)})).str, "alp");
  EXPECT_EQ(unwrap(host.ok("wasi:io/streams", "[method]input-stream.read", {h(in), Value::u(30)})).str, "ha");
  EXPECT_EQ(host.ok("wasi:io/streams", "[method]input-stream.read", {h(in), Value::u(30)}),
            Value::err(Value::variant(1)));  // closed
  Value st = unwrap(host.ok(kFs, "[method]descriptor.stat", {h(f)}));
  EXPECT_EQ(st.items[0].bits, 6u);  // regular-file
  EXPECT_EQ(st.items[2].bits, 5u);  // size
  Value sub = unwrap(host.ok(kFs, "[method]descriptor.stat-at", {h(root_), path_flags(true), Value::string("sub/b.txt")}));
  EXPECT_EQ(sub.items[2].bits, 6u);
  // A symlink that stays inside resolves; the file is the same object as a.txt.
  uint32_t up = rep(unwrap(open("sub/up")));
  EXPECT_EQ(host.ok(kFs, "[method]descriptor.is-same-object", {h(up), h(f)}).bits, 1u);
  EXPECT_EQ(unwrap(host.ok(kFs, "[method]descriptor.get-type", {h(root_)})).bits, 3u);  // directory
}

TEST_F(Wasi2Filesystem, PathsCannotLeaveThePreopen) {
  WASI2_NEED_WIT();
  EXPECT_EQ(open("../" + outside_.path.filename().string() + "/secret"), fs_err(kNotPermitted));
  EXPECT_EQ(open((outside_.path / "secret").string()), fs_err(kNotPermitted));  // absolute
  EXPECT_EQ(open("escape"), fs_err(kNotPermitted));                            // symlink out
  EXPECT_EQ(open("sub/../../x"), fs_err(kNotPermitted));
  EXPECT_EQ(open("missing"), fs_err(kNoEntry));
  EXPECT_EQ(open(std::string("a.txt\0x", 7)).bits, 1u);
  EXPECT_EQ(open(std::string(5000, 'a')).bits, 1u);  // name too long
  EXPECT_EQ(host_->ok(kFs, "[method]descriptor.stat-at", {h(root_), path_flags(true), Value::string("escape")}),
            fs_err(kNotPermitted));
}

TEST_F(Wasi2Filesystem, EveryMutationIsRefusedAndNothingChanges) {
  WASI2_NEED_WIT();
  Host& host = *host_;
  EXPECT_EQ(open("new.txt", true, open_flags(true)), fs_err(kReadOnly));
  EXPECT_EQ(open("a.txt", true, open_flags(), desc_flags(true)), fs_err(kReadOnly));
  uint32_t f = rep(unwrap(open("a.txt")));
  EXPECT_EQ(host.ok(kFs, "[method]descriptor.write-via-stream", {h(f), Value::u(0)}), fs_err(kReadOnly));
  EXPECT_EQ(host.ok(kFs, "[method]descriptor.write", {h(f), Value::string("x"), Value::u(0)}), fs_err(kReadOnly));
  EXPECT_EQ(host.ok(kFs, "[method]descriptor.set-size", {h(f), Value::u(0)}), fs_err(kReadOnly));
  EXPECT_EQ(host.ok(kFs, "[method]descriptor.create-directory-at", {h(root_), Value::string("d")}), fs_err(kReadOnly));
  EXPECT_EQ(host.ok(kFs, "[method]descriptor.unlink-file-at", {h(root_), Value::string("a.txt")}), fs_err(kReadOnly));
  EXPECT_EQ(host.ok(kFs, "[method]descriptor.rename-at",
                    {h(root_), Value::string("a.txt"), h(root_), Value::string("z.txt")}),
            fs_err(kReadOnly));
  EXPECT_FALSE(std::filesystem::exists(dir_.path / "new.txt"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path / "d"));
  EXPECT_TRUE(std::filesystem::exists(dir_.path / "a.txt"));
  EXPECT_EQ(std::filesystem::file_size(dir_.path / "a.txt"), 5u);
}

TEST_F(Wasi2Filesystem, DirectoriesListAndDescriptorsAreCapped) {
  WASI2_NEED_WIT();
  Host& host = *host_;
  uint32_t list = rep(unwrap(host.ok(kFs, "[method]descriptor.read-directory", {h(root_)})));
  std::set<std::string> names;
  for (int i = 0; i < 10; ++i) {
    Value e = unwrap(host.ok(kFs, "[method]directory-entry-stream.read-directory-entry", {h(list)}));
    if (e.bits == 0) break;
    names.insert(e.items[0].items[1].str);
  }
  EXPECT_EQ(names, (std::set<std::string>{"a.txt", "sub", "escape"}));
  // The listing holds one descriptor; two more files reach the cap of 3.
  uint32_t a = rep(unwrap(open("a.txt")));
  rep(unwrap(open("sub/b.txt")));
  EXPECT_EQ(open("a.txt"), fs_err(kQuota));
  EXPECT_EQ(host.ok(kFs, "[method]descriptor.read-via-stream", {h(a), Value::u(0)}), fs_err(kQuota));
  ASSERT_TRUE(host.drop(kFs, "directory-entry-stream", list).ok());
  EXPECT_EQ(open("a.txt").bits, 0u);
  EXPECT_EQ(host.state->open_files, 3u);
}

}  // namespace
}  // namespace wink::wasi2
