// Data-driven app cases: each tests/apps/<case>/ holds a wink.toml and either
// `expected-error.txt` (lines that must all appear in the load error; the
// case's scratch path is shown as "<case>/") or `requests.txt` (requests and
// the responses they must get). Guests are reachable as "guests/<name>.wasm"
// (a symlink to the build's guest directory; the examples are there
// as example_<name>.wasm).
//
// requests.txt: blocks separated by a line "---"; in each block
//   request: METHOD /target          header: Name: value       body: text
//   expect-status: 200               expect-header: Name: value
//   expect-body: text                expect-body-contains: text
// Text values understand \n, \r, \t and \\.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "support/http_client.h"
#include "test_app.h"

namespace fs = std::filesystem;

namespace wink::test {
namespace {

const fs::path kAppsDir = fs::path(WINK_TEST_DATA_DIR).parent_path() / "apps";

std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      char c = s[++i];
      out.push_back(c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : c);
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> cases() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(kAppsDir, ec)) {
    if (entry.is_directory() && fs::exists(entry.path() / "wink.toml")) {
      out.push_back(entry.path().filename().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

class AppCase : public ::testing::TestWithParam<std::string> {};

// Copies the case to a scratch dir with guests/ and examples/ linked in.
fs::path stage(const std::string& name) {
  fs::path dir = make_scratch_dir("app-" + name);
  fs::copy(kAppsDir / name, dir / name, fs::copy_options::recursive);
  fs::create_directory_symlink(WINK_GUEST_DIR, dir / name / "guests");
  return dir / name;
}

TEST_P(AppCase, Behaves) {
  const std::string name = GetParam();
  fs::path dir = stage(name);
  const fs::path expected_error = dir / "expected-error.txt";
  const fs::path requests = dir / "requests.txt";
  ASSERT_TRUE(fs::exists(expected_error) || fs::exists(requests))
      << name << ": needs expected-error.txt or requests.txt";

  if (fs::exists(expected_error)) {
    auto m = manifest::load(dir);
    std::string error;
    if (m.ok()) {
      engine::Engine engine({.data_dir = test_data_dir()});
      auto app = wagi::App::load(std::move(*m), engine, {.log = nullptr});
      ASSERT_FALSE(app.ok()) << name << ": loaded, but should have been refused";
      error = app.error().message;
    } else {
      error = m.error().message;
    }
    // Show the scratch path as "<case>/".
    std::string prefix = dir.string() + "/";
    for (size_t pos; (pos = error.find(prefix)) != std::string::npos;) {
      error.replace(pos, prefix.size(), name + "/");
    }
    std::istringstream want(read_all(expected_error));
    for (std::string line; std::getline(want, line);) {
      if (line.empty() || line[0] == '#') continue;
      EXPECT_NE(error.find(line), std::string::npos)
          << name << ": error does not contain\n  " << line << "\nerror:\n  " << error;
    }
  } else {
    RunningApp app;
    ASSERT_TRUE(app.start(dir / "wink.toml", 2)) << app.load_error;
    std::istringstream in(read_all(requests));
    std::vector<std::vector<std::string>> blocks(1);
    for (std::string line; std::getline(in, line);) {
      if (line == "---") {
        blocks.emplace_back();
      } else if (!line.empty() && line[0] != '#') {
        blocks.back().push_back(line);
      }
    }
    int n = 0;
    for (const auto& block : blocks) {
      if (block.empty()) continue;
      ++n;
      std::string method = "GET", target = "/", body;
      std::vector<std::string> headers;
      for (const auto& line : block) {
        if (line.rfind("request: ", 0) == 0) {
          std::istringstream rl(line.substr(9));
          rl >> method >> target;
        } else if (line.rfind("header: ", 0) == 0) {
          headers.push_back(line.substr(8));
        } else if (line.rfind("body: ", 0) == 0) {
          body = unescape(line.substr(6));
        }
      }
      auto r = http_request(app.port(), method, target, headers, body);
      const std::string where = name + " request " + std::to_string(n) + " (" + method + " " +
                                target + ")";
      for (const auto& line : block) {
        if (line.rfind("expect-status: ", 0) == 0) {
          EXPECT_EQ(r.status, std::stoi(line.substr(15))) << where << "\n" << r.body;
        } else if (line.rfind("expect-header: ", 0) == 0) {
          std::string h = line.substr(15);
          size_t colon = h.find(':');
          std::string value = h.substr(colon + 1);
          while (!value.empty() && value[0] == ' ') value.erase(0, 1);
          EXPECT_EQ(r.header(h.substr(0, colon)), unescape(value)) << where;
        } else if (line.rfind("expect-body: ", 0) == 0) {
          EXPECT_EQ(r.body, unescape(line.substr(13))) << where;
        } else if (line.rfind("expect-body-contains: ", 0) == 0) {
          EXPECT_NE(r.body.find(unescape(line.substr(22))), std::string::npos)
              << where << "\n" << r.body;
        }
      }
    }
    EXPECT_GT(n, 0) << name << ": requests.txt has no requests";
  }
  fs::remove_all(dir.parent_path());
}

INSTANTIATE_TEST_SUITE_P(Apps, AppCase, ::testing::ValuesIn(cases()),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return s;
                         });

}  // namespace
}  // namespace wink::test
