// A snapshot is bound to the artifact it was taken on, not just the module:
// its function references are offsets into that artifact's code. The same
// module compiled at another optimization level, by another C compiler or
// with other flags must find the snapshot stale (and callers must then run
// init afresh), never restore it and jump into the wrong code.
//   * engine: optimized <-> -O0 artifacts of one module refuse each other's
//     snapshots, load_or_create rebuilds, and the rebuilt one answers;
//   * a header whose artifact id is forged (resealed checksum) is refused;
//   * `wink up` over one data directory with two C compilers ($WINK_CC):
//     each build runs init for its own artifact and answers correctly, and a
//     snapshot file of the other artifact put in its place is rebuilt.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>

#include "common/hash.h"
#include "engine/artifact_id.h"
#include "engine/engine.h"
#include "engine/snapshot.h"
#include "support/wink_up.h"
#include "wasi/wasi.h"

namespace wink::test {
namespace {

namespace fs = std::filesystem;

engine::InitSpec init_spec() {
  engine::InitSpec s;
  s.init_export = "wizer.initialize";
  s.deadline = std::chrono::seconds(10);
  return s;
}

// The guest's artifact at -O<opt_level> (engines kept for the test's life).
std::shared_ptr<engine::Module> load_at(int opt_level) {
  static std::map<int, std::unique_ptr<engine::Engine>> engines;
  auto& engine = engines[opt_level];
  if (!engine) {
    engine::EngineConfig config;
    config.data_dir = shared_data_dir();
    config.compile.opt_level = opt_level;
    engine = std::make_unique<engine::Engine>(config);
  }
  auto m = engine->load_file(guest_wasm("snap_funcref_global"));
  EXPECT_TRUE(m.ok()) << m.error().message;
  return m.ok() ? *m : nullptr;
}

// _start of a fresh instance of `snap` (calls both restored funcrefs): its stdout.
std::string run(const engine::Snapshot& snap) {
  auto prepared = wasi::Prepared::create({});
  std::string out;
  wasi::Stdio so{.kind = wasi::Stdio::Kind::kBuffer, .output = &out};
  wasi::Context ctx(*prepared, nullptr, &so, nullptr);
  runtime::HostModule* hosts[] = {&ctx};
  auto inst = snap.instantiate(hosts, {});
  EXPECT_TRUE(inst.ok()) << inst.error().message;
  if (!inst.ok()) return {};
  (void)(*inst)->run_start();
  return out;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(SnapshotArtifactBinding, OptimizedAndQuickArtifactsRefuseEachOthersSnapshots) {
  auto optimized = load_at(2);
  auto quick = load_at(0);
  ASSERT_TRUE(optimized && quick);
  ASSERT_EQ(optimized->identity(), quick->identity()) << "one module";
  ASSERT_NE(optimized->path(), quick->path()) << "two artifacts";
  ASSERT_NE(engine::artifact_id(*optimized), engine::artifact_id(*quick));
  ASSERT_FALSE(engine::artifact_id(*optimized).empty());
  const fs::path dir = scratch_dir("snap-artifact");
  const fs::path data = dir / "data";
  // Each artifact keeps its own file in the data directory.
  EXPECT_NE(engine::snapshot_path_for(*optimized, init_spec(), data),
            engine::snapshot_path_for(*quick, init_spec(), data));

  struct Case {
    const char* name;
    std::shared_ptr<engine::Module> taken_on, restored_on;
  };
  for (const Case& c : {Case{"optimized -> -O0", optimized, quick}, Case{"-O0 -> optimized", quick, optimized}}) {
    SCOPED_TRACE(c.name);
    const fs::path file = dir / "app.snap";
    auto snap = engine::Snapshot::create(c.taken_on, init_spec());
    ASSERT_TRUE(snap.ok()) << snap.error().message;
    ASSERT_TRUE((*snap)->write(file).ok());
    ASSERT_TRUE(engine::Snapshot::load(file, c.taken_on, init_spec()).ok()) << "valid on its own artifact";

    auto other = engine::Snapshot::load(file, c.restored_on, init_spec());
    ASSERT_FALSE(other.ok()) << "a snapshot of another artifact was accepted";
    EXPECT_NE(other.error().message.find("stale snapshot: made on another artifact"), std::string::npos)
        << other.error().message;
    EXPECT_NE(other.error().message.find(engine::artifact_id(*c.taken_on)), std::string::npos)
        << other.error().message;

    // What callers do: a fresh init for this artifact, which answers.
    bool rebuilt = false;
    std::string why;
    auto fresh = engine::Snapshot::load_or_create(file, c.restored_on, init_spec(), &rebuilt, &why);
    ASSERT_TRUE(fresh.ok()) << fresh.error().message;
    EXPECT_TRUE(rebuilt);
    EXPECT_NE(why.find("made on another artifact"), std::string::npos) << why;
    EXPECT_EQ(run(**fresh), "Content-Type: text/plain\n\nv=42\n");
    EXPECT_TRUE(engine::Snapshot::load(file, c.restored_on, init_spec()).ok()) << "rewritten for this artifact";
  }
  fs::remove_all(dir);
}

TEST(SnapshotArtifactBinding, ForgedArtifactIdIsRefused) {
  auto module = load_at(2);
  ASSERT_TRUE(module);
  const fs::path dir = scratch_dir("snap-forged");
  const fs::path file = dir / "app.snap";
  auto snap = engine::Snapshot::create(module, init_spec());
  ASSERT_TRUE(snap.ok()) << snap.error().message;
  ASSERT_TRUE((*snap)->write(file).ok());
  const std::string real = slurp(file);
  const std::string id = engine::artifact_id(*module);
  const size_t at = real.find(id);
  ASSERT_NE(at, std::string::npos) << "the header names the artifact";
  ASSERT_LT(at, 4096u);

  // The header is checksummed (not signed): a forger reseals it. The
  // header checksum is its last 32 bytes, over the header with them zeroed.
  struct Mirror {  // FileHeader in src/engine/snapshot.cpp
    char magic[8];
    uint32_t format_version, header_bytes;
    char engine_version[48], module_hash[72], artifact_id[96], spec_key[72];
    uint64_t meta_offset, meta_bytes, data_offset, data_bytes;
    uint8_t meta_sha256[32], data_sha256[32], header_sha256[32];
  };
  ASSERT_EQ(offsetof(Mirror, artifact_id), at) << "FileHeader changed: update the mirror";
  auto forge = [&](const std::string& forged_id) {
    std::string bytes = real;
    Mirror h;
    std::memcpy(&h, bytes.data(), sizeof h);
    std::memset(h.artifact_id, 0, sizeof h.artifact_id);
    std::memcpy(h.artifact_id, forged_id.data(), std::min(forged_id.size(), sizeof h.artifact_id - 1));
    std::memset(h.header_sha256, 0, sizeof h.header_sha256);
    const std::string hex =
        Sha256().update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&h), sizeof h)).hex();
    for (int i = 0; i < 32; ++i) h.header_sha256[i] = static_cast<uint8_t>(std::stoi(hex.substr(i * 2, 2), nullptr, 16));
    std::memcpy(bytes.data(), &h, sizeof h);
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
    return engine::Snapshot::load(file, module, init_spec());
  };
  // Resealed with the true id, the file loads: the mirror and the reseal are right.
  ASSERT_TRUE(forge(id).ok());
  std::string flipped = id;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  for (const std::string& forged : {flipped, std::string(), std::string("gnu-build-id:"), id.substr(0, id.size() - 1),
                                    id + "0", std::string(95, 'a')}) {
    SCOPED_TRACE("forged id \"" + forged + "\"");
    auto r = forge(forged);
    ASSERT_FALSE(r.ok()) << "forged artifact id accepted";
    EXPECT_NE(r.error().message.find("stale snapshot: made on another artifact"), std::string::npos)
        << r.error().message;
  }
  fs::remove_all(dir);
}

// A $WINK_CC: the system C compiler with `flags` added (another artifact of
// the same module for every other set of flags).
fs::path write_cc(const fs::path& dir, const std::string& name, const std::string& flags) {
  fs::path script = dir / name;
  std::ofstream(script) << "#!/bin/sh\nexec cc " << flags << " \"$@\"\n";
  fs::permissions(script, fs::perms::owner_all);
  return script;
}

class ScopedCc {
 public:
  explicit ScopedCc(const fs::path& script) { ::setenv("WINK_CC", script.c_str(), 1); }
  ~ScopedCc() { ::unsetenv("WINK_CC"); }
};

std::vector<fs::path> snapshot_files(const fs::path& data) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(data / "snapshots", ec)) {
    if (e.path().extension() == ".snap") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(SnapshotArtifactBinding, WinkUpWithAnotherCompilerRunsInitAfresh) {
  const fs::path dir = scratch_dir("snap-artifact-up");
  const std::string data = (dir / "data").string();
  const std::string manifest = R"([app]
name = "bound"

[[route]]
path = "/..."
component = "fg"

[component.fg]
source = ")" + guest_wasm("snap_funcref_global").string() + R"("
init = "wizer.initialize"
)";
  const fs::path plain = write_cc(dir, "cc-plain.sh", "");
  const fs::path aligned = write_cc(dir, "cc-aligned.sh", "-falign-functions=256");
  auto serve = [&](const fs::path& cc, const std::string& expect_log) {
    ScopedCc scoped(cc);
    WinkUp up;
    ASSERT_TRUE(up.start(dir / "app", manifest, {"--data-dir", data})) << up.output();
    EXPECT_NE(up.output().find(expect_log), std::string::npos) << up.output();
    for (int i = 0; i < 3; ++i) {
      HttpResponse r = up.get("/x");
      ASSERT_EQ(r.status, 200) << "server: " << (up.exited() ? up.status() : "running") << "\n" << up.output();
      EXPECT_EQ(r.body, "v=42\n");
    }
    EXPECT_EQ(up.stop(), 0) << up.output();
  };
  {
    SCOPED_TRACE("first compiler");
    serve(plain, "snapshot built");
  }
  const auto first = snapshot_files(data);
  ASSERT_EQ(first.size(), 1u);
  {
    SCOPED_TRACE("second compiler: its own snapshot");
    serve(aligned, "snapshot built");
  }
  auto both = snapshot_files(data);
  ASSERT_EQ(both.size(), 2u) << "one snapshot per artifact";
  const fs::path second = both[0] == first[0] ? both[1] : both[0];
  {
    SCOPED_TRACE("second compiler, its file replaced by the first artifact's snapshot");
    fs::copy_file(first[0], second, fs::copy_options::overwrite_existing);
    serve(aligned, "stale snapshot: made on another artifact");
  }
  {
    SCOPED_TRACE("first compiler: its snapshot still valid");
    serve(plain, "snapshot loaded");
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace wink::test
