// `wink up` for tests (see wink_up.h).
#include "support/wink_up.h"

#include <fstream>

namespace wink::test {

bool WinkUp::start(const std::filesystem::path& dir, const std::string& manifest,
                   std::vector<std::string> extra_args, std::chrono::seconds timeout) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "wink.toml") << manifest;
  std::string data_dir = shared_data_dir().string();
  for (size_t i = 0; i + 1 < extra_args.size(); ++i) {
    if (extra_args[i] == "--data-dir") {
      data_dir = extra_args[i + 1];
      extra_args.erase(extra_args.begin() + static_cast<long>(i), extra_args.begin() + static_cast<long>(i) + 2);
      break;
    }
  }
  std::vector<std::string> args = {binary_, "up", dir.string(), "--listen", "127.0.0.1:0", "--data-dir", data_dir};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  process_ = Process::spawn(std::move(args), {.stderr_to = SpawnOptions::Stderr::kIntoStdout});
  if (!process_) return false;
  port_ = process_->wait_listening(timeout);
  return port_ != 0;
}

HttpResponse WinkUp::get(const std::string& path) {
  return http_request(port_, "GET", path);
}

int WinkUp::stop() { return process_ ? process_->stop() : -1; }

std::string WinkUp::output() { return process_ ? process_->out() : std::string(); }

}  // namespace wink::test
