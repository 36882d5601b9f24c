// End to end, as an operator and a tenant use it: `wink serve` (the real
// node) and the CLI over its control API: deploy, update, failed update,
// apps ls, logs, scale/quota changes that survive a restart, TCP with and
// without the token, remove.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "support/http_client.h"
#include "support/wink_process.h"
#include "common/files.h"

namespace wink::control {
namespace {

namespace fs = std::filesystem;

// `wink serve` (stderr discarded) and the ports it reported.
struct Serve {
  std::unique_ptr<wink::test::Process> process;
  uint16_t port = 0, control_port = 0;
  std::string out() { return process->out(); }
  int stop() { return process->stop(); }
};

// Starts `wink serve` and reads its stdout until the ingress and control lines.
std::unique_ptr<Serve> start_serve(const fs::path& data) {
  using wink::test::port_after;
  auto s = std::make_unique<Serve>();
  s->process = wink::test::Process::spawn(
      {WINK_BIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", data.string(), "--control-listen", "127.0.0.1:0",
       "--access-log", "off"},
      {.stderr_to = wink::test::SpawnOptions::Stderr::kDiscard});
  if (!s->process) return nullptr;
  s->process->wait_until(
      [&](const std::string& out) {
        s->port = port_after(out, wink::test::kListeningPrefix);
        s->control_port = port_after(out, "http://127.0.0.1:", out.find("control API:"));
        return s->port != 0 && s->control_port != 0;
      },
      std::chrono::seconds(60));
  return s;
}

struct Cli {
  int status = -1;
  std::string out;
};
// The CLI with `args` (plain words), stdout and stderr together.
Cli run_cli(const std::string& args) {
  auto r = wink::test::run_wink(wink::test::words(args), {.stderr_to = wink::test::SpawnOptions::Stderr::kIntoStdout});
  return {r.signal ? -1 : r.exit_code, r.out};
}

void write_app(const fs::path& dir, const std::string& version, const std::string& extra = "") {
  fs::create_directories(dir);
  fs::copy_file(fs::path(WINK_GUEST_DIR) / "node_app.wasm", dir / "app.wasm", fs::copy_options::overwrite_existing);
  std::ofstream(dir / "wink.toml") << "[app]\nname = \"hello\"\n\n[[route]]\npath = \"/...\"\ncomponent = \"main\"\n\n"
                                      "[component.main]\nsource = \"app.wasm\"\n" << extra
                                   << "environment = { VERSION = \"" << version << "\" }\n";
}

class ControlEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    root = fs::temp_directory_path() / ("wink-control-e2e-" + std::to_string(::getpid()));
    fs::remove_all(root);
    data = root / "data";
    fs::create_directories(data);
    fs::path cache = fs::path(WINK_TEST_CACHE_DIR) / "control-artifacts";
    fs::create_directories(cache);
    fs::create_directory_symlink(cache, data / "artifacts");
    app = root / "hello";
    write_app(app, "1");
    node = " --node unix:" + (data / "control.sock").string();
  }
  void TearDown() override {
    serve.reset();
    fs::remove_all(root);
  }
  wink::test::HttpResponse get(const std::string& host, const std::string& target = "/") {
    return wink::test::http_request(serve->port, "GET", target, {"Host: " + host});
  }
  fs::path root, data, app;
  std::string node;
  std::unique_ptr<Serve> serve;
};

TEST_F(ControlEndToEnd, DeployUpdateFailLogsRemoveThroughTheCli) {
  serve = start_serve(data);
  ASSERT_TRUE(serve && serve->port && serve->control_port) << (serve ? serve->out() : "");

  Cli d = run_cli("deploy " + app.string() + node);
  ASSERT_EQ(d.status, 0) << d.out;
  EXPECT_NE(d.out.find("app \"hello\" version 1 deployed"), std::string::npos) << d.out;
  EXPECT_NE(d.out.find("http://hello.localhost:" + std::to_string(serve->port) + "/"), std::string::npos) << d.out;
  EXPECT_NE(d.out.find("compil"), std::string::npos) << "progress is shown: " << d.out;
  EXPECT_EQ(get("hello.localhost").body, "version=1\n");

  // Identical content: a no-op.
  Cli same = run_cli("deploy " + app.string() + node);
  EXPECT_EQ(same.status, 0) << same.out;
  EXPECT_NE(same.out.find("unchanged"), std::string::npos) << same.out;

  // An update serves once ready.
  write_app(app, "2");
  Cli up = run_cli("deploy " + app.string() + node);
  ASSERT_EQ(up.status, 0) << up.out;
  EXPECT_NE(up.out.find("version 2 deployed"), std::string::npos) << up.out;
  EXPECT_EQ(get("hello.localhost").body, "version=2\n");

  // A broken update fails with file:line:col and leaves version 2 serving.
  write_app(app, "3", "sorce = \"x\"\n");
  Cli bad = run_cli("deploy " + app.string() + node);
  EXPECT_EQ(bad.status, 1) << bad.out;
  EXPECT_NE(bad.out.find("wink.toml:"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("sorce"), std::string::npos) << bad.out;
  EXPECT_EQ(get("hello.localhost").body, "version=2\n");

  // A second app under another name, from the same directory.
  write_app(app, "4");
  Cli other = run_cli("deploy " + app.string() + " --name shop" + node);
  ASSERT_EQ(other.status, 0) << other.out;
  EXPECT_EQ(get("shop.localhost").body, "version=4\n");

  Cli ls = run_cli("apps ls" + node);
  ASSERT_EQ(ls.status, 0) << ls.out;
  EXPECT_NE(ls.out.find("hello.localhost"), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find("shop.localhost"), std::string::npos) << ls.out;

  Cli logs = run_cli("logs hello" + node);
  ASSERT_EQ(logs.status, 0) << logs.out;
  EXPECT_NE(logs.out.find("{"), std::string::npos) << "structured lines: " << logs.out;
  EXPECT_NE(logs.out.find("switched"), std::string::npos) << logs.out;
  Cli no_logs = run_cli("logs nope" + node);
  EXPECT_EQ(no_logs.status, 1) << no_logs.out;

  // TCP: the token is needed, and a refused request changes nothing.
  const std::string tcp = " --node http://127.0.0.1:" + std::to_string(serve->control_port);
  Cli anon = run_cli("apps rm hello" + tcp + " --data-dir " + (root / "elsewhere").string());
  EXPECT_EQ(anon.status, 1);
  EXPECT_NE(anon.out.find("missing Authorization"), std::string::npos) << anon.out;
  auto raw = wink::test::http_request(serve->control_port, "DELETE", "/v1/apps/hello",
                                      {"Authorization: Bearer " + std::string(64, '0')});
  EXPECT_EQ(raw.status, 401);
  EXPECT_EQ(get("hello.localhost").body, "version=2\n");
  Cli with_token = run_cli("apps ls" + tcp + " --token-file " + (data / "control.token").string());
  EXPECT_EQ(with_token.status, 0) << with_token.out;
  EXPECT_NE(with_token.out.find("hello"), std::string::npos) << with_token.out;

  Cli rm = run_cli("apps rm shop" + node);
  EXPECT_EQ(rm.status, 0) << rm.out;
  EXPECT_EQ(get("shop.localhost").status, 404);
  EXPECT_EQ(get("hello.localhost").body, "version=2\n");
  Cli rm_again = run_cli("apps rm shop" + node);
  EXPECT_EQ(rm_again.status, 1) << rm_again.out;
  EXPECT_EQ(serve->stop(), 0);
}

TEST_F(ControlEndToEnd, QuotaChangesSurviveARestart) {
  serve = start_serve(data);
  ASSERT_TRUE(serve && serve->port) << (serve ? serve->out() : "");
  Cli set = run_cli("quotas set --active-instances 5 --memory-total 1GiB" + node);
  ASSERT_EQ(set.status, 0) << set.out;
  Cli neg = run_cli("quotas set --active-instances -1" + node);
  EXPECT_EQ(neg.status, 1);
  EXPECT_NE(neg.out.find("-1 is out of range"), std::string::npos) << neg.out;
  EXPECT_EQ(serve->stop(), 0);

  serve = start_serve(data);
  ASSERT_TRUE(serve && serve->port) << (serve ? serve->out() : "");
  Cli q = run_cli("quotas" + node);
  ASSERT_EQ(q.status, 0) << q.out;
  EXPECT_NE(q.out.find(" / 5"), std::string::npos) << q.out;
  EXPECT_NE(q.out.find("1.0 GiB"), std::string::npos) << q.out;
  EXPECT_EQ(serve->stop(), 0);
}

TEST_F(ControlEndToEnd, ScaleSettingsSurviveARestartAndARedeploy) {
  const fs::path counter = root / "counter";
  fs::create_directories(counter);
  fs::copy_file(fs::path(WINK_GUEST_DIR) / "example_counter.wasm", counter / "counter.wasm");
  fs::copy_file(fs::path(WINK_EXAMPLES_DIR) / "counter" / "wink.toml", counter / "wink.toml");
  serve = start_serve(data);
  ASSERT_TRUE(serve && serve->port) << (serve ? serve->out() : "");
  Cli d = run_cli("deploy " + counter.string() + node);
  ASSERT_EQ(d.status, 0) << d.out;
  Cli set = run_cli("scale set counter/counter --max 3 --cooldown 2000" + node);
  ASSERT_EQ(set.status, 0) << set.out;
  EXPECT_NE(set.out.find("max size:      3"), std::string::npos) << set.out;
  Cli huge = run_cli("scale set counter/counter --max 4294967295" + node);
  EXPECT_EQ(huge.status, 1);
  EXPECT_NE(huge.out.find("4294967295 is out of range (1..10000)"), std::string::npos) << huge.out;
  // Neither a negative minimum nor a maximum past 32 bits is ignored or
  // truncated (4294967297 would wrap to 1): both are refused, saying why,
  // and the settings stay as they were.
  Cli negative_min = run_cli("scale set counter/counter --min -1" + node);
  EXPECT_EQ(negative_min.status, 1) << negative_min.out;
  EXPECT_NE(negative_min.out.find("min_instances: -1 is out of range (0..10000)"), std::string::npos)
      << negative_min.out;
  Cli wrapping_max = run_cli("scale set counter/counter --max 4294967297" + node);
  EXPECT_EQ(wrapping_max.status, 1) << wrapping_max.out;
  EXPECT_NE(wrapping_max.out.find("max_instances: 4294967297 is out of range (1..10000)"), std::string::npos)
      << wrapping_max.out;
  Cli unchanged = run_cli("scale" + node);
  EXPECT_NE(unchanged.out.find("min size:      0"), std::string::npos) << unchanged.out;
  EXPECT_NE(unchanged.out.find("max size:      3"), std::string::npos) << unchanged.out;
  EXPECT_EQ(serve->stop(), 0);

  serve = start_serve(data);
  ASSERT_TRUE(serve && serve->port) << (serve ? serve->out() : "");
  Cli after_restart = run_cli("scale" + node);
  EXPECT_NE(after_restart.out.find("max size:      3"), std::string::npos) << after_restart.out;
  EXPECT_NE(after_restart.out.find("cooldown:      2s"), std::string::npos) << after_restart.out;

  // A changed version starts from its manifest (max_instances = 1); the
  // operator's setting is replayed when it takes traffic.
  std::ofstream(counter / "wink.toml", std::ios::app) << "# changed\n";
  Cli redeploy = run_cli("deploy " + counter.string() + node);
  ASSERT_EQ(redeploy.status, 0) << redeploy.out;
  EXPECT_NE(redeploy.out.find("version 2 deployed"), std::string::npos) << redeploy.out;
  Cli after_redeploy = run_cli("scale" + node);
  EXPECT_NE(after_redeploy.out.find("max size:      3"), std::string::npos) << after_redeploy.out;
  EXPECT_EQ(get("counter.localhost").status, 200);
  EXPECT_EQ(serve->stop(), 0);
}

}  // namespace
}  // namespace wink::control
