// node::Registry through its interface and over real HTTP with Host headers:
// deploy, update while a request is in flight, rollback on a failed build,
// remove, no-op redeploy, host conflicts, KV isolation, restart without
// recompiling, logs, 100 apps.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "engine/snapshot.h"
#include "node_test_util.h"

namespace wink::node::test {
namespace {

using std::chrono::milliseconds;

std::vector<std::string> stages_of(Registry& r, const Bundle& b, Result<DeployResult>* out = nullptr) {
  std::vector<std::string> stages;
  auto res = r.deploy(b, {}, [&](const DeployEvent& e) { stages.push_back(e.stage); });
  if (out) *out = std::move(res);
  return stages;
}

TEST(NodeRegistry, DeployServesAtItsHostAndUnknownHostsGet404) {
  auto data = data_dir_with_shared_cache("deploy");
  auto reg = Registry::open(quiet_config(data));
  ASSERT_TRUE(reg.ok()) << reg.error().message;
  (*reg)->set_url_port(3000);
  Result<DeployResult> res = make_error("");
  auto stages = stages_of(**reg, app_bundle("alpha", "1"), &res);
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->app, "alpha");
  EXPECT_EQ(res->version, 1u);
  EXPECT_FALSE(res->unchanged);
  ASSERT_EQ(res->urls.size(), 1u);
  EXPECT_EQ(res->urls[0], "http://alpha.localhost:3000/");
  EXPECT_EQ(stages.front(), "received");
  EXPECT_EQ(stages.back(), "switched");
  EXPECT_NE(std::find(stages.begin(), stages.end(), "compiling"), stages.end());

  Ingress in(**reg);
  for (std::string host : {"alpha.localhost", "alpha.localhost:3000", "ALPHA.LocalHost", "alpha.localhost."}) {
    auto r = in.get(host);
    EXPECT_EQ(r.status, 200) << host;
    EXPECT_EQ(r.body, "version=1\n") << host;
  }
  for (std::string host : {"beta.localhost", "localhost", "alpha.localhost.evil", "127.0.0.1", "xalpha.localhost"}) {
    auto r = in.get(host);
    EXPECT_EQ(r.status, 404) << host;
    EXPECT_EQ(r.body, "no app at this host\n") << host;
    EXPECT_EQ(r.header("Content-Type"), "text/plain; charset=utf-8");
  }
  auto info = (*reg)->get("alpha");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->state, "serving");
  EXPECT_EQ(info->routes, std::vector<std::string>{"/..."});
  EXPECT_EQ(info->requests, 4u);
  EXPECT_NE(info->last_request, std::chrono::system_clock::time_point{});
  EXPECT_EQ((*reg)->list().size(), 1u);
  EXPECT_FALSE((*reg)->get("beta").ok());
  fs::remove_all(data);
}

TEST(NodeRegistry, IdenticalRedeployIsANoOp) {
  auto data = data_dir_with_shared_cache("same");
  auto reg = Registry::open(quiet_config(data));
  ASSERT_TRUE(reg.ok());
  auto first = (*reg)->deploy(app_bundle("alpha", "1"), {}, {});
  ASSERT_TRUE(first.ok()) << first.error().message;
  Result<DeployResult> again = make_error("");
  auto stages = stages_of(**reg, app_bundle("alpha", "1"), &again);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again->unchanged);
  EXPECT_EQ(again->version, 1u);
  EXPECT_EQ(again->digest, first->digest);
  EXPECT_EQ(stages.back(), "unchanged");
  EXPECT_EQ(std::find(stages.begin(), stages.end(), "compiling"), stages.end());
  // No staging dir or second version dir left behind.
  size_t dirs = 0;
  for (auto& d : fs::directory_iterator(data / "apps" / "alpha")) dirs += d.is_directory();
  EXPECT_EQ(dirs, 1u);
  EXPECT_TRUE(fs::is_empty(data / "apps" / ".staging"));
  // A changed file is a new version.
  auto changed = (*reg)->deploy(app_bundle("alpha", "2"), {}, {});
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(changed->unchanged);
  EXPECT_EQ(changed->version, 2u);
  EXPECT_NE(changed->digest, first->digest);
  fs::remove_all(data);
}

TEST(NodeRegistry, UpdateSwitchesWhileTheOldVersionFinishesItsRequest) {
  auto data = data_dir_with_shared_cache("update");
  auto reg = Registry::open(quiet_config(data));
  ASSERT_TRUE(reg.ok());
  ASSERT_TRUE((*reg)->deploy(app_bundle("alpha", "1"), {}, {}).ok());
  Ingress in(**reg);
  wink::test::HttpResponse slow;
  std::thread t([&] { slow = in.get("alpha.localhost", "/?sleep=700"); });
  std::this_thread::sleep_for(milliseconds(200));  // the slow request is running on version 1
  auto v2 = (*reg)->deploy(app_bundle("alpha", "2"), {}, {});
  ASSERT_TRUE(v2.ok()) << v2.error().message;
  auto now = in.get("alpha.localhost");
  EXPECT_EQ(now.body, "version=2\n") << "new requests go to the new version at once";
  // Version 1's files stay while its request runs.
  EXPECT_TRUE(fs::exists(data / "apps" / "alpha" / (*reg)->get("alpha")->digest));
  size_t dirs = 0;
  for (auto& d : fs::directory_iterator(data / "apps" / "alpha")) dirs += d.is_directory();
  EXPECT_EQ(dirs, 2u) << "the old version drains";
  t.join();
  EXPECT_EQ(slow.status, 200);
  EXPECT_EQ(slow.body, "version=1\n") << "the request in flight finished on the old version";
  dirs = 0;
  for (auto& d : fs::directory_iterator(data / "apps" / "alpha")) dirs += d.is_directory();
  EXPECT_EQ(dirs, 1u) << "the drained version's files are gone";
  fs::remove_all(data);
}

// Requests in a row on one connection have their instances made ahead on
// its I/O thread. While they keep coming, an update with other code is
// deployed: once one answer comes from the new version, every later one
// does, and the first request after the deploy returned is the new
// version's (no instance made ahead from the old code serves it).
TEST(NodeRegistry, AnUpdateReachesAConnectionWhoseInstancesAreMadeAhead) {
  auto data = data_dir_with_shared_cache("update-ahead");
  auto reg = Registry::open(quiet_config(data));
  ASSERT_TRUE(reg.ok());
  ASSERT_TRUE((*reg)->deploy(app_bundle("alpha", "1"), {}, {}).ok());
  Bundle other_code = app_bundle("alpha", "2");
  other_code.files[1].bytes = guest_bytes("wagi_fresh");
  const std::string v1 = "version=1\n", v2 = "runs=1 kept=\nquery= body=\n";
  Ingress in(**reg);
  wink::test::LoopbackConnection c(in.server.port());
  ASSERT_TRUE(c.ok());
  const std::string get = "GET / HTTP/1.1\r\nHost: alpha.localhost\r\n\r\n";
  for (int i = 0; i < 3; ++i) ASSERT_EQ(c.exchange(get).body, v1);
  std::atomic<bool> deployed{false};
  std::thread update([&] {
    EXPECT_TRUE((*reg)->deploy(other_code, {}, {}).ok());
    deployed = true;
  });
  bool switched = false;
  int after_deploy = 0, requests = 0;
  while (after_deploy < 3 && requests < 100000) {
    const bool was_deployed = deployed.load();
    const std::string body = c.exchange(get).body;
    ++requests;
    const bool ok = (switched || was_deployed) ? body == v2 : (body == v1 || body == v2);
    EXPECT_TRUE(ok) << "request " << requests << (switched ? ", after the switch" : "")
                    << (was_deployed ? ", after the deploy" : "") << ": " << body;
    if (!ok) break;
    switched = switched || body == v2;
    after_deploy += was_deployed;
  }
  update.join();
  EXPECT_EQ(after_deploy, 3);
  fs::remove_all(data);
}

TEST(NodeRegistry, FailedDeployKeepsTheOldVersionServing) {
  auto data = data_dir_with_shared_cache("rollback");
  auto reg = Registry::open(quiet_config(data));
  ASSERT_TRUE(reg.ok());
  ASSERT_TRUE((*reg)->deploy(app_bundle("alpha", "1"), {}, {}).ok());
  Ingress in(**reg);

  // A manifest error: file:line:col relative to the bundle.
  Bundle bad = app_bundle("alpha", "2");
  bad.files[0].bytes.insert(bad.files[0].bytes.find("\n[[route]]"), "\ncolour = \"blue\"");
  std::vector<std::string> stages;
  auto r = (*reg)->deploy(bad, {}, [&](const DeployEvent& e) { stages.push_back(e.stage); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("wink.toml:4:1: unknown field \"colour\" in [app]", 0), 0u) << r.error().message;
  EXPECT_EQ(stages.back(), "failed");
  EXPECT_EQ(in.get("alpha.localhost").body, "version=1\n");
  auto info = (*reg)->get("alpha");
  EXPECT_EQ(info->state, "failed");
  EXPECT_EQ(info->version, 1u);
  EXPECT_NE(info->last_error.find("wink.toml:4:1"), std::string::npos);

  // A module that does not compile.
  Bundle broken = app_bundle("alpha", "3");
  broken.files[1].bytes = std::string("\0asm\x01\0\0\0\x01\xff", 10);
  r = (*reg)->deploy(broken, {}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("app.wasm"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find(data.string()), std::string::npos) << "no node paths: " << r.error().message;
  EXPECT_EQ(in.get("alpha.localhost").body, "version=1\n");

  // A bundle path escaping the app directory.
  Bundle escape = app_bundle("alpha", "4");
  escape.files.push_back({"../../evil", "x", false});
  r = (*reg)->deploy(escape, {}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("unsafe file path"), std::string::npos);
  EXPECT_FALSE(fs::exists(data / "apps" / "evil"));

  // No leftovers of the failed deploys; the next good one serves.
  EXPECT_TRUE(fs::is_empty(data / "apps" / ".staging"));
  auto good = (*reg)->deploy(app_bundle("alpha", "5"), {}, {});
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_EQ(good->version, 2u);
  EXPECT_EQ(in.get("alpha.localhost").body, "version=5\n");
  EXPECT_EQ((*reg)->get("alpha")->state, "serving");
  EXPECT_EQ((*reg)->get("alpha")->last_error, "");
  // A first deploy that fails leaves no app.
  Bundle bad_new = app_bundle("gamma", "1");
  bad_new.files[1].bytes = "not wasm";
  EXPECT_FALSE((*reg)->deploy(bad_new, {}, {}).ok());
  EXPECT_FALSE((*reg)->get("gamma").ok());
  EXPECT_FALSE(fs::exists(data / "apps" / "gamma" / "x"));
  fs::remove_all(data);
}

TEST(NodeRegistry, RemoveStopsRoutingAndDeletesFilesAndKeyValueData) {
  auto data = data_dir_with_shared_cache("remove");
  auto reg = Registry::open(quiet_config(data));
  ASSERT_TRUE(reg.ok());
  ASSERT_TRUE((*reg)->deploy(app_bundle("alpha", "1"), {}, {}).ok());
  Ingress in(**reg);
  EXPECT_EQ(in.get("alpha.localhost", "/?set=kept").body, "");
  EXPECT_EQ(in.get("alpha.localhost", "/?get").body, "k=kept\n");
  EXPECT_TRUE(fs::exists(data / "kv" / "alpha" / "default.sqlite"));
  ASSERT_TRUE((*reg)->remove("alpha").ok());
  EXPECT_EQ(in.get("alpha.localhost").status, 404);
  EXPECT_FALSE(fs::exists(data / "apps" / "alpha"));
  EXPECT_FALSE(fs::exists(data / "kv" / "alpha"));
  EXPECT_FALSE((*reg)->get("alpha").ok());
  EXPECT_TRUE((*reg)->list().empty());
  auto again = (*reg)->remove("alpha");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().message, "no app \"alpha\"");
  // Deployed again: a new app, version 1, no data.
  auto re = (*reg)->deploy(app_bundle("alpha", "1"), {}, {});
  ASSERT_TRUE(re.ok());
  EXPECT_EQ(re->version, 1u);
  EXPECT_EQ(in.get("alpha.localhost", "/?get").body, "error=not_found\n");
  fs::remove_all(data);
}

// A thread remembers where its last Host header went. On one connection
// (one I/O thread) requests alternate between two apps, then one is updated
// while its old version is still alive, removed and deployed again:
// each request reaches the version its Host names at that moment, and what
// the thread remembered keeps nothing of the removed app.
TEST(NodeRegistry, HostsAlternatingOnOneConnectionFollowRemovalsAtOnce) {
  auto data = data_dir_with_shared_cache("memo");
  auto reg = Registry::open(quiet_config(data));
  ASSERT_TRUE(reg.ok());
  ASSERT_TRUE((*reg)->deploy(app_bundle("alpha", "1"), {}, {}).ok());
  ASSERT_TRUE((*reg)->deploy(app_bundle("beta", "2"), {}, {}).ok());
  Ingress in(**reg);
  wink::test::LoopbackConnection c(in.server.port());
  ASSERT_TRUE(c.ok());
  auto get = [&](const std::string& host, const std::string& target = "/") {
    return c.exchange("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
  };
  for (const char* host : {"alpha.localhost", "beta.localhost", "beta.localhost", "ALPHA.localhost", "alpha.localhost"}) {
    EXPECT_EQ(get(host).body, std::string(host).find("beta") == 0 ? "version=2\n" : "version=1\n") << host;
  }
  // An update while the old version is still alive (held, as a request
  // running on it would hold it).
  std::shared_ptr<const Version> old = (*reg)->route("beta.localhost");
  ASSERT_TRUE(old);
  EXPECT_EQ(get("beta.localhost").body, "version=2\n");  // this thread's last: beta's version 2
  ASSERT_TRUE((*reg)->deploy(app_bundle("beta", "2b"), {}, {}).ok());
  EXPECT_EQ(get("beta.localhost").body, "version=2b\n") << "the update, not the old version still alive";
  old.reset();
  EXPECT_EQ(get("beta.localhost", "/?set=old").status, 200);
  ASSERT_TRUE((*reg)->remove("beta").ok());
  EXPECT_EQ(get("beta.localhost").status, 404) << "removed: no longer routed";
  EXPECT_FALSE(fs::exists(data / "apps" / "beta")) << "nothing remembered keeps its version";
  EXPECT_EQ(get("alpha.localhost").body, "version=1\n");
  EXPECT_EQ(get("beta.localhost").status, 404);
  ASSERT_TRUE((*reg)->deploy(app_bundle("beta", "3"), {}, {}).ok());
  EXPECT_EQ(get("beta.localhost").body, "version=3\n");
  EXPECT_EQ(get("beta.localhost", "/?get").body, "error=not_found\n") << "a new app, no data of the removed one";
  fs::remove_all(data);
}

TEST(NodeRegistry, TwoAppsKeyValueStoresAreSeparate) {
  auto data = data_dir_with_shared_cache("kv");
  auto reg = Registry::open(quiet_config(data));
  ASSERT_TRUE(reg.ok());
  ASSERT_TRUE((*reg)->deploy(app_bundle("alpha", "1"), {}, {}).ok());
  ASSERT_TRUE((*reg)->deploy(app_bundle("beta", "1"), {}, {}).ok());
  Ingress in(**reg);
  in.get("alpha.localhost", "/?set=from-alpha");
  EXPECT_EQ(in.get("beta.localhost", "/?get").body, "error=not_found\n") << "beta cannot see alpha's key";
  in.get("beta.localhost", "/?set=from-beta");
  EXPECT_EQ(in.get("alpha.localhost", "/?get").body, "k=from-alpha\n");
  EXPECT_EQ(in.get("beta.localhost", "/?get").body, "k=from-beta\n");
  fs::remove_all(data);
}

// Variables are per app: a vars-file line "<app>.token" reaches that app
// only; a plain "token" line is every app's default.
TEST(NodeRegistry, TwoAppsVariablesAreSeparate) {
  auto data = data_dir_with_shared_cache("vars");
  RegistryConfig config = quiet_config(data);
  config.tenancy.file_variables = {{"alpha.token", "alpha-secret"}, {"token", "shared"}};
  auto reg = Registry::open(std::move(config));
  ASSERT_TRUE(reg.ok()) << reg.error().message;
  auto with_token = [](const std::string& name) {
    Bundle b = app_bundle(name, "1", "");
    b.files[0].bytes += "variables = [\"token\"]\n\n[variables]\ntoken = { required = true, secret = true }\n";
    return b;
  };
  ASSERT_TRUE((*reg)->deploy(with_token("alpha"), {}, {}).ok());
  ASSERT_TRUE((*reg)->deploy(with_token("beta"), {}, {}).ok());
  Ingress ingress(**reg);
  EXPECT_EQ(ingress.get("alpha.localhost", "/?var").body, "token=alpha-secret\n");
  EXPECT_EQ(ingress.get("beta.localhost", "/?var").body, "token=shared\n") << "beta never sees alpha's value";
  fs::remove_all(data);
}

TEST(NodeRegistry, HostConflictsAreRefusedWithTheReason) {
  auto data = data_dir_with_shared_cache("hosts");
  auto reg = Registry::open(quiet_config(data));
  ASSERT_TRUE(reg.ok());
  ASSERT_TRUE((*reg)->deploy(app_bundle("alpha", "1", "hosts = [\"shop.example.com\"]\n"), {}, {}).ok());
  auto clash = (*reg)->deploy(app_bundle("beta", "1", "hosts = [\"shop.example.com\"]\n"), {}, {});
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().message, "host \"shop.example.com\" is already served by app \"alpha\"");
  auto steal = (*reg)->deploy(app_bundle("beta", "1", "hosts = [\"alpha.localhost\"]\n"), {}, {});
  ASSERT_FALSE(steal.ok());
  EXPECT_EQ(steal.error().message, "host \"alpha.localhost\" is already served by app \"alpha\"");
  EXPECT_FALSE((*reg)->get("beta").ok()) << "a refused first deploy leaves no app";
  Ingress in(**reg);
  EXPECT_EQ(in.get("shop.example.com").body, "version=1\n");
  EXPECT_EQ(in.get("beta.localhost").status, 404);
  // The owner can move its extra host; then another app may take the freed one.
  ASSERT_TRUE((*reg)->deploy(app_bundle("alpha", "2", "hosts = [\"www.example.com\"]\n"), {}, {}).ok());
  EXPECT_EQ(in.get("shop.example.com").status, 404);
  auto taken = (*reg)->deploy(app_bundle("beta", "1", "hosts = [\"shop.example.com\"]\n"), {}, {});
  ASSERT_TRUE(taken.ok()) << taken.error().message;
  EXPECT_EQ(taken->urls.size(), 2u);
  EXPECT_EQ(in.get("shop.example.com").body, "version=1\n");
  EXPECT_EQ(in.get("www.example.com").body, "version=2\n");
  fs::remove_all(data);
}

TEST(NodeRegistry, AppNamesMustBeDnsLabels) {
  auto data = data_dir_with_shared_cache("names");
  auto reg = Registry::open(quiet_config(data));
  ASSERT_TRUE(reg.ok());
  for (std::string bad : std::vector<std::string>{"Alpha", "a_b", "-a", "a-", "a.b", std::string(64, 'a'), "a b"}) {
    DeployOptions o;
    o.name = bad;
    auto r = (*reg)->deploy(app_bundle("alpha", "1"), o, {});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().message.rfind("app name \"" + bad + "\"", 0), 0u) << r.error().message;
  }
  // The manifest's name is checked too (it allows '_' and capitals for `wink up`).
  auto r = (*reg)->deploy(app_bundle("My_App", "1"), {}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("lowercase"), std::string::npos);
  DeployOptions o;
  o.name = std::string(63, 'a');
  auto ok = (*reg)->deploy(app_bundle("My_App", "1"), o, {});
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->app, std::string(63, 'a'));
  EXPECT_TRUE((*reg)->list().size() == 1);
  fs::remove_all(data);
}

TEST(NodeRegistry, RestartServesEveryAppWithoutCompilingOrStartingInstances) {
  auto data = temp_dir("restart");  // its own artifact cache: the first open compiles
  std::string digest;
  {
    auto reg = Registry::open(quiet_config(data));
    ASSERT_TRUE(reg.ok());
    ASSERT_TRUE((*reg)->deploy(app_bundle("alpha", "1"), {}, {}).ok());
    ASSERT_TRUE((*reg)->deploy(app_bundle("beta", "7"), {}, {}).ok());
    auto v2 = (*reg)->deploy(app_bundle("alpha", "2"), {}, {});
    ASSERT_TRUE(v2.ok());
    digest = v2->digest;
    EXPECT_GE((*reg)->engine().compile_count(), 1u);
    ASSERT_TRUE((*reg)->put_setting("scale/alpha/main", "{\"max\":3}").ok());
    ASSERT_TRUE((*reg)->put_setting("scale/beta/main", "{\"max\":2}").ok());
    ASSERT_TRUE((*reg)->put_setting("quotas/app/beta", "{\"active_instances\":2}").ok());
    ASSERT_TRUE((*reg)->put_setting("quotas/node", "{\"active_instances\":9}").ok());
    ASSERT_TRUE((*reg)->put_setting("lifecycle/alpha/beta", "{}").ok());  // alpha's component "beta"
    Ingress in(**reg);
    in.get("alpha.localhost", "/?set=durable");
  }
  auto reg = Registry::open(quiet_config(data));
  ASSERT_TRUE(reg.ok()) << reg.error().message;
  EXPECT_EQ((*reg)->engine().compile_count(), 0u) << "served from the artifact cache";
  EXPECT_EQ((*reg)->stats().apps_loaded_at_start, 2u);
  EXPECT_TRUE((*reg)->lifecycle().instances().empty()) << "all asleep";
  auto info = (*reg)->get("alpha");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->version, 2u);
  EXPECT_EQ(info->digest, digest);
  EXPECT_EQ((*reg)->settings().size(), 5u);
  Ingress in(**reg);
  EXPECT_EQ(in.get("alpha.localhost").body, "version=2\n");
  EXPECT_EQ(in.get("beta.localhost").body, "version=7\n");
  EXPECT_EQ(in.get("alpha.localhost", "/?get").body, "k=durable\n");
  // The next version number continues; removing an app drops its settings.
  auto v3 = (*reg)->deploy(app_bundle("alpha", "3"), {}, {});
  ASSERT_TRUE(v3.ok());
  EXPECT_EQ(v3->version, 3u);
  ASSERT_TRUE((*reg)->remove("beta").ok());
  std::vector<std::string> kept;
  for (const auto& [k, v] : (*reg)->settings()) kept.push_back(k);
  EXPECT_EQ(kept, (std::vector<std::string>{"lifecycle/alpha/beta", "quotas/node", "scale/alpha/main"}));
  // An app named like a settings word takes nothing else with it.
  for (std::string odd : {"node", "app"}) {
    DeployOptions o;
    o.name = odd;
    ASSERT_TRUE((*reg)->deploy(app_bundle("x", "1"), o, {}).ok());
    ASSERT_TRUE((*reg)->remove(odd).ok());
  }
  EXPECT_EQ((*reg)->settings().size(), 3u);
  fs::remove_all(data);
}

TEST(NodeRegistry, WhatACrashLeftBehindIsRemovedAtStart) {
  auto data = data_dir_with_shared_cache("leftovers");
  std::string digest;
  {
    auto reg = Registry::open(quiet_config(data));
    ASSERT_TRUE(reg.ok());
    auto d = (*reg)->deploy(app_bundle("alpha", "1"), {}, {});
    ASSERT_TRUE(d.ok());
    digest = d->digest;
    Ingress in(**reg);
    in.get("alpha.localhost", "/?set=mine");
  }
  // A deploy killed before its switch, a removal killed before its cleanup.
  fs::create_directories(data / "apps" / ".staging" / "0123456789abcdef");
  std::ofstream(data / "apps" / ".staging" / "0123456789abcdef" / "wink.toml") << "[app]\n";
  fs::create_directories(data / "apps" / "alpha" / std::string(64, 'f'));
  fs::create_directories(data / "apps" / "ghost" / std::string(64, 'e'));
  fs::create_directories(data / "kv" / "ghost");
  std::ofstream(data / "kv" / "ghost" / "default.sqlite") << "old tenant data";
  fs::create_directories(data / "kv" / "orphan");  // its app dir already gone
  auto reg = Registry::open(quiet_config(data));
  ASSERT_TRUE(reg.ok());
  EXPECT_EQ((*reg)->stats().dirs_removed_at_start, 4u);
  EXPECT_FALSE(fs::exists(data / "apps" / ".staging"));
  EXPECT_FALSE(fs::exists(data / "apps" / "alpha" / std::string(64, 'f')));
  EXPECT_FALSE(fs::exists(data / "apps" / "ghost"));
  EXPECT_FALSE(fs::exists(data / "kv" / "ghost")) << "a new app named ghost must not inherit this";
  EXPECT_FALSE(fs::exists(data / "kv" / "orphan"));
  EXPECT_TRUE(fs::exists(data / "apps" / "alpha" / digest));
  Ingress in(**reg);
  EXPECT_EQ(in.get("alpha.localhost", "/?get").body, "k=mine\n");
  fs::remove_all(data);
}

// A deploy's files are fsynced before its switch commits; what a power cut
// (or a disk) damaged anyway is found at start by the digest the catalog
// holds: the app reports it and serves nothing, never the damaged files.
TEST(NodeRegistry, DamagedBundleFilesAreRefusedAtStart) {
  for (const std::string damage : {"manifest byte changed", "module truncated"}) {
    SCOPED_TRACE(damage);
    auto data = data_dir_with_shared_cache("damaged");
    std::string digest;
    {
      auto reg = Registry::open(quiet_config(data));
      ASSERT_TRUE(reg.ok());
      auto d = (*reg)->deploy(app_bundle("alpha", "1"), {}, {});
      ASSERT_TRUE(d.ok()) << d.error().message;
      digest = d->digest;
      ASSERT_TRUE((*reg)->deploy(app_bundle("beta", "2"), {}, {}).ok());
    }
    const fs::path dir = data / "apps" / "alpha" / digest;
    if (damage == "manifest byte changed") {
      // Still a valid manifest: only the digest can tell.
      auto text = read_text_file(dir / "wink.toml");
      ASSERT_TRUE(text.ok());
      size_t at = text->find("VERSION = \"1\"");
      ASSERT_NE(at, std::string::npos);
      (*text)[at + 11] = '9';
      std::ofstream(dir / "wink.toml", std::ios::binary | std::ios::trunc) << *text;
    } else {
      fs::resize_file(dir / "app.wasm", fs::file_size(dir / "app.wasm") / 2);
    }
    auto reg = Registry::open(quiet_config(data));
    ASSERT_TRUE(reg.ok()) << reg.error().message;
    EXPECT_EQ((*reg)->stats().apps_failed_at_start, 1u);
    EXPECT_EQ((*reg)->stats().apps_loaded_at_start, 1u);
    auto info = (*reg)->get("alpha");
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->state, "failed");
    EXPECT_NE(info->last_error.find("do not match the digest of what was deployed"), std::string::npos)
        << info->last_error;
    Ingress in(**reg);
    auto r = in.get("alpha.localhost");
    EXPECT_NE(r.status, 200) << r.body;
    EXPECT_EQ(r.body.find("version=9"), std::string::npos) << "the damaged manifest was loaded";
    EXPECT_EQ(in.get("beta.localhost").body, "version=2\n") << "other apps serve on";
    // A new deploy of the app repairs it.
    auto again = (*reg)->deploy(app_bundle("alpha", "3"), {}, {});
    ASSERT_TRUE(again.ok()) << again.error().message;
    EXPECT_EQ(in.get("alpha.localhost").body, "version=3\n");
    fs::remove_all(data);
  }
}

TEST(NodeRegistry, LogsHaveDeployStepsAndLongPollWakesOnNewLines) {
  auto data = data_dir_with_shared_cache("logs");
  auto reg = Registry::open(quiet_config(data));
  ASSERT_TRUE(reg.ok());
  ASSERT_TRUE((*reg)->deploy(app_bundle("alpha", "1"), {}, {}).ok());
  auto lines = (*reg)->logs("alpha", 0, 100, milliseconds(0));
  ASSERT_TRUE(lines.ok());
  ASSERT_FALSE(lines->empty());
  EXPECT_NE(lines->back().json.find("\"stage\":\"switched\""), std::string::npos) << lines->back().json;
  for (size_t k = 1; k < lines->size(); ++k) EXPECT_GT((*lines)[k].seq, (*lines)[k - 1].seq);
  const uint64_t last = lines->back().seq;
  auto none = (*reg)->logs("alpha", last, 100, milliseconds(0));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  std::thread later([&] {
    std::this_thread::sleep_for(milliseconds(100));
    (void)(*reg)->deploy(app_bundle("alpha", "2"), {}, {});
  });
  auto t0 = std::chrono::steady_clock::now();
  auto woke = (*reg)->logs("alpha", last, 2, milliseconds(5000));
  auto waited = std::chrono::steady_clock::now() - t0;
  later.join();
  ASSERT_TRUE(woke.ok());
  ASSERT_FALSE(woke->empty());
  EXPECT_LE(woke->size(), 2u);
  EXPECT_GT(woke->front().seq, last);
  EXPECT_LT(waited, milliseconds(4000)) << "woken by the line, not the timeout";
  EXPECT_FALSE((*reg)->logs("nope", 0, 10, milliseconds(0)).ok());
  fs::remove_all(data);
}

TEST(NodeRegistry, ReactorComponentsOfAReplacedVersionAreUndeployed) {
  auto data = data_dir_with_shared_cache("reactor");
  auto reg = Registry::open(quiet_config(data));
  ASSERT_TRUE(reg.ok());
  std::string toml;
  {
    std::ifstream f(fs::path(WINK_EXAMPLES_DIR) / "counter" / "wink.toml");
    toml.assign(std::istreambuf_iterator<char>(f), {});
  }
  auto bundle = [&](const std::string& extra) {
    Bundle b;
    b.files.push_back({"wink.toml", toml + extra, false});
    b.files.push_back({"counter.wasm", guest_bytes("example_counter"), false});
    return b;
  };
  ASSERT_TRUE((*reg)->deploy(bundle(""), {}, {}).ok());
  Ingress in(**reg);
  EXPECT_EQ(in.get("counter.localhost").body, "count=1 standbys=0\n");
  EXPECT_EQ(in.get("counter.localhost").body, "count=2 standbys=0\n");
  EXPECT_EQ((*reg)->get("counter")->running, 1u);
  auto v2 = (*reg)->deploy(bundle("# v2\n"), {}, {});
  ASSERT_TRUE(v2.ok()) << v2.error().message;
  auto comps = (*reg)->lifecycle().components();
  ASSERT_EQ(comps.size(), 1u) << "the old version's component is gone";
  EXPECT_EQ(in.get("counter.localhost").body, "count=1 standbys=0\n") << "a new version starts fresh";
  EXPECT_EQ((*reg)->lifecycle().instances().size(), 1u);
  // App quotas from the manifest.
  auto q = (*reg)->deploy(bundle("\n[app.quotas]\nmemory_per_instance = \"8MiB\"\n"), {}, {});
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.error().message.find("exceeds the app quota"), std::string::npos) << q.error().message;
  EXPECT_EQ(in.get("counter.localhost").body, "count=2 standbys=0\n") << "the refused version did not replace it";
  ASSERT_TRUE((*reg)->remove("counter").ok());
  EXPECT_TRUE((*reg)->lifecycle().components().empty());
  EXPECT_TRUE((*reg)->lifecycle().instances().empty());
  fs::remove_all(data);
}

TEST(NodeRegistry, StandbyStateOverTheBudgetSpillsToFilesAndWakesIntact) {
  auto data = data_dir_with_shared_cache("spill");
  std::string toml;
  {
    std::ifstream f(fs::path(WINK_EXAMPLES_DIR) / "counter" / "wink.toml");
    toml.assign(std::istreambuf_iterator<char>(f), {});
  }
  toml.replace(toml.find("idle_timeout = \"1s\""), 19, "idle_timeout = \"20ms\"");
  Bundle b;
  b.files.push_back({"wink.toml", toml, false});
  b.files.push_back({"counter.wasm", guest_bytes("example_counter"), false});
  auto reg = Registry::open(quiet_config(data));
  ASSERT_TRUE(reg.ok());
  ASSERT_TRUE((*reg)->deploy(b, {}, {}).ok());
  Ingress in(**reg);
  auto wait_standby = [&] {
    for (int i = 0; i < 400 && (*reg)->get("counter")->standby == 0; ++i) std::this_thread::sleep_for(milliseconds(5));
    ASSERT_EQ((*reg)->get("counter")->standby, 1u);
  };
  // Within the budget: saved state stays in memory.
  engine::set_image_spill(data / "standby", 1ull << 40);
  const auto before = engine::image_backing();
  EXPECT_EQ(in.get("counter.localhost", "/?add=41").body, "count=41 standbys=0\n");
  wait_standby();
  EXPECT_EQ(engine::image_backing().spilled_images, before.spilled_images);
  EXPECT_GT(engine::image_backing().memory_bytes, before.memory_bytes);
  // Over it (1 byte): the next saved state goes to an unlinked file, and wakes with its count.
  engine::set_image_spill(data / "standby", 1);
  EXPECT_EQ(in.get("counter.localhost").body, "count=42 standbys=1\n");
  wait_standby();
  const auto spilled = engine::image_backing();
  EXPECT_EQ(spilled.spilled_images, before.spilled_images + 1);
  EXPECT_GT(spilled.spilled_bytes, 0u);
  EXPECT_EQ(in.get("counter.localhost").body, "count=43 standbys=2\n") << "restored from the spilled file";
  engine::set_image_spill({}, 0);
  ASSERT_TRUE((*reg)->remove("counter").ok());
  EXPECT_EQ(engine::image_backing().spilled_images, before.spilled_images) << "the file went with the instance";
  fs::remove_all(data);
}

TEST(NodeRegistry, HundredAppsDeployedAllAnswer) {
  auto data = data_dir_with_shared_cache("hundred");
  auto reg = Registry::open(quiet_config(data));
  ASSERT_TRUE(reg.ok());
  Bundle hello;
  hello.files.push_back({"wink.toml", "[app]\nname = \"hello\"\n[[route]]\npath = \"/\"\ncomponent = \"hello\"\n"
                                      "[component.hello]\nsource = \"hello.wasm\"\n", false});
  hello.files.push_back({"hello.wasm", guest_bytes("example_hello"), false});
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) {
    DeployOptions o;
    o.name = "app-" + std::to_string(i);
    auto r = (*reg)->deploy(hello, o, {});
    ASSERT_TRUE(r.ok()) << o.name << ": " << r.error().message;
  }
  auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("100 deploys in %.2f s\n", took);
  EXPECT_EQ((*reg)->list().size(), 100u);
  Ingress in(**reg);
  for (int i = 0; i < 100; ++i) {
    auto r = in.get("app-" + std::to_string(i) + ".localhost");
    ASSERT_EQ(r.status, 200) << i;
    EXPECT_EQ(r.body, "Hello, world!\n");
  }
  EXPECT_EQ(in.get("app-100.localhost").status, 404);
  fs::remove_all(data);
}

TEST(NodeRegistry, DeploysOfDifferentAppsRunConcurrently) {
  auto data = data_dir_with_shared_cache("concurrent");
  auto reg = Registry::open(quiet_config(data));
  ASSERT_TRUE(reg.ok());
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      for (int v = 1; v <= 3; ++v) {
        ok += (*reg)->deploy(app_bundle("app" + std::to_string(i), std::to_string(v)), {}, {}).ok();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 24);
  Ingress in(**reg);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(in.get("app" + std::to_string(i) + ".localhost").body, "version=3\n");
  fs::remove_all(data);
}

}  // namespace
}  // namespace wink::node::test
