// Standby cost of a long-lived instance with a large state, as `wink up`
// logs it (`instance standby`: ms, written_bytes), for the two kinds side by
// side in one server: a core reactor (bench/lifecycle/wake_guest.c, its
// whole heap non-zero) and a wasi:http reactor component
// (tests/http_component/reactor_app.c: /fill writes every page of 128 MiB),
// and a wasi:http component whose 128 MiB state is its start image
// (tests/http_component/init_app.c, `init = "init-fill"`: init writes every
// 4 KiB page up to the memory limit). Each round sends one small request to each
// (a page or two written), then waits for all to go to standby again: the
// standby after a wake writes only the pages changed since (incremental); the
// first one only what changed since the start image (core reactor, component
// with an image: onto the copy of it the node made meanwhile), the reactor_app
// component's first its whole state (it wrote it in its first request).
// Beside them, in the same run, the physical reference: a memcpy of the same
// state in this process (what copying it whole costs at memory speed), and
// the ratio of each standby to it.
//
//   standby_http_bench [--wink PATH] [--rounds 20] [--component PATH] [--image-component PATH]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "bench/support/http_bench.h"
#include "support/wink_up.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

using wink::bench::pct;

constexpr uint32_t kStateMiB = 128;  // reactor_app's /fill; the core guest's heap is made as big

// The `instance standby` log lines of component `id`, in order: (ms, written_bytes).
std::vector<std::pair<double, double>> standbys(const std::string& output, const std::string& id) {
  std::vector<std::pair<double, double>> out;
  const std::string tag = "\"component\":\"" + id + "\"";
  auto number = [](const std::string& line, const std::string& name) {
    const size_t at = line.find("\"" + name + "\":");
    return at == std::string::npos ? -1.0 : std::atof(line.c_str() + at + name.size() + 3);
  };
  for (size_t at = output.find("\"msg\":\"instance standby\""); at != std::string::npos;
       at = output.find("\"msg\":\"instance standby\"", at + 1)) {
    const size_t begin = output.rfind('\n', at) + 1, end = output.find('\n', at);
    const std::string line = output.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    if (line.find(tag) != std::string::npos) out.emplace_back(number(line, "ms"), number(line, "written_bytes"));
  }
  return out;
}

bool wait_for_standbys(wink::test::WinkUp& up, size_t each) {
  const auto until = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < until) {
    const std::string out = up.output();
    if (standbys(out, "core").size() >= each && standbys(out, "component").size() >= each &&
        standbys(out, "image").size() >= each)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

// Copying the state whole at memory speed, in this process, now (ms; best of 3).
double memcpy_ms(uint64_t bytes) {
  std::vector<char> from(bytes, 1), to(bytes, 0);
  double best = 1e9;
  for (int i = 0; i < 3; ++i) {
    auto t = Clock::now();
    std::memcpy(to.data(), from.data(), bytes);
    best = std::min(best, std::chrono::duration<double, std::milli>(Clock::now() - t).count());
  }
  return best + (to[bytes / 2] == 7 ? 1 : 0);  // (keeps the copy)
}

}  // namespace

int main(int argc, char** argv) {
  std::string wink = wink::test::wink_binary();
  std::string component = WINK_REACTOR_APP, image_component = WINK_INIT_APP;
  int rounds = 20;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--wink") wink = next();
    else if (a == "--rounds") rounds = std::atoi(next());
    else if (a == "--component") component = next();
    else if (a == "--image-component") image_component = next();
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  const fs::path root = fs::temp_directory_path() / ("wink-standby-http-" + std::to_string(::getpid()));
  fs::create_directories(root / "data");
  fs::copy_file(fs::path(WINK_GUEST_DIR) / "wake_guest.wasm", root / "core.wasm");
  fs::copy_file(component, root / "component.wasm");
  fs::copy_file(image_component, root / "image.wasm");
  const std::string manifest =
      "[app]\nname = \"standby\"\n\n"
      "[[route]]\npath = \"/core/...\"\ncomponent = \"core\"\n\n"
      "[[route]]\npath = \"/component/...\"\ncomponent = \"component\"\n\n"
      "[[route]]\npath = \"/image/...\"\ncomponent = \"image\"\n\n"
      "[component.core]\nsource = \"" + (root / "core.wasm").string() +
      "\"\nexecutor = \"reactor\"\ninit = \"bench.init\"\ninit_environment = { MEM_MB = \"" +
      std::to_string(kStateMiB) + "\" }\nstateful = true\nmax_instances = 1\nmemory_limit = \"256MiB\"\n"
      "idle_timeout = \"10ms\"\n\n"
      "[component.component]\nsource = \"" + (root / "component.wasm").string() +
      "\"\nexecutor = \"reactor\"\nstateful = true\nmax_instances = 1\nmemory_limit = \"256MiB\"\n"
      "idle_timeout = \"10ms\"\n\n"
      "[component.image]\nsource = \"" + (root / "image.wasm").string() +
      "\"\nexecutor = \"reactor\"\ninit = \"init-fill\"\nstateful = true\nmax_instances = 1\n"
      "memory_limit = \"" + std::to_string(kStateMiB) + "MiB\"\nidle_timeout = \"10ms\"\n";
  wink::test::WinkUp up(wink);
  if (!up.start(root / "app", manifest, {"--data-dir", (root / "data").string(), "--access-log", "off"})) {
    std::fprintf(stderr, "wink up failed:\n%s\n", up.output().c_str());
    return 1;
  }
  wink::bench::pin_server_and_client(up.pid());
  auto ok = [&](const std::string& path) {
    auto r = up.get(path);
    if (r.status != 200) std::fprintf(stderr, "GET %s: %d %s\n", path.c_str(), r.status, r.body.c_str());
    return r.status == 200;
  };
  if (!ok("/component/fill") || !ok("/core/?touch=1") || !ok("/image/") || !wait_for_standbys(up, 1)) {
    std::fprintf(stderr, "no first standby:\n%s\n", up.output().c_str());
    return 1;
  }
  for (int r = 0; r < rounds; ++r) {
    if (!ok("/core/?touch=1") || !ok("/component/") || !ok("/image/") || !wait_for_standbys(up, r + 2)) {
      std::fprintf(stderr, "round %d failed:\n%s\n", r, up.output().c_str());
      return 1;
    }
  }
  const std::string out = up.output();
  up.stop();
  const double copy_ms = memcpy_ms(uint64_t{kStateMiB} << 20);
  std::printf("wink: %s\nstate: %u MiB, every page non-zero; a memcpy of it here, now: %.1f ms\n\n", wink.c_str(),
              kStateMiB, copy_ms);
  std::printf("| instance | first standby ms (MB written) | later standbys p50 / p99 ms | MB written p50 | "
              "p50 vs a memcpy of the state |\n|---|---|---|---|---|\n");
  for (const char* id : {"core", "component", "image"}) {
    const auto lines = standbys(out, id);
    std::vector<double> later_ms, later_bytes;
    for (size_t i = 1; i < lines.size(); ++i) later_ms.push_back(lines[i].first), later_bytes.push_back(lines[i].second);
    const double p50 = pct(later_ms, 0.5);
    std::printf("| %s reactor | %.1f (%.1f) | %.2f / %.2f | %.3f | %.3fx |\n",
                std::strcmp(id, "core") == 0        ? "core (init's image)"
                : std::strcmp(id, "component") == 0 ? "wasi:http component (no image)"
                                                     : "wasi:http component (init's image)",
                lines[0].first, lines[0].second / 1e6,
                p50, pct(later_ms, 0.99), pct(later_bytes, 0.5) / 1e6, p50 / copy_ms);
  }
  fs::remove_all(root);
  return 0;
}
