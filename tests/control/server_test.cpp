// The control API server over real sockets, against an in-test node::Apps on
// a real lifecycle node (the counter example): authentication, socket mode,
// TLS, limits, range checks, GET never changing state, settings persisted and
// replayed, deploy/logs streaming, and the admin CLI commands.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <thread>

#include "control/client.h"
#include "control/server.h"
#include "control/token.h"
#include "support/http_client.h"
#include "support/wink_process.h"
#include "test_apps.h"

namespace wink::control {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;

int connect_unix(const fs::path& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

int connect_tcp(uint16_t port) { return wink::test::connect_loopback(port); }

struct Answer {
  int status = 0;
  std::string head, body;
  json j() const { return json::parse(body, nullptr, false); }
};

// Sends raw bytes, reads to EOF.
Answer exchange(int fd, const std::string& raw) {
  Answer a;
  if (fd < 0) return a;
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  (void)!::send(fd, raw.data(), raw.size(), MSG_NOSIGNAL);
  std::string all;
  char buf[65536];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) all.append(buf, static_cast<size_t>(n));
  ::close(fd);
  size_t end = all.find("\r\n\r\n");
  if (all.size() < 12 || end == std::string::npos) return a;
  a.status = std::atoi(all.c_str() + 9);
  a.head = all.substr(0, end);
  a.body = all.substr(end + 4);
  return a;
}

std::string req(const std::string& method, const std::string& target, const std::string& body = "",
                const std::string& auth = "") {
  std::string r = method + " " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\n";
  if (!auth.empty()) r += "Authorization: " + auth + "\r\n";
  return r + "\r\n" + body;
}

// The CLI with `args` (plain words): what it printed on stdout and stderr.
std::string run_cli(const std::string& args) {
  return wink::test::run_wink(wink::test::words(args), {.stderr_to = wink::test::SpawnOptions::Stderr::kIntoStdout})
      .out;
}

class ControlServer : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("wink-control-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    config.socket_path = dir / "data" / "control.sock";
    config.tcp_listen = "127.0.0.1:0";
    config.token_file = dir / "data" / "control.token";
    apps = std::make_unique<test::TestApps>();
  }
  void TearDown() override {
    server.reset();
    apps.reset();
    fs::remove_all(dir);
  }
  void start() {
    server = std::make_unique<Server>(config, *apps);
    auto r = server->start();
    ASSERT_TRUE(r.ok()) << r.error().message;
    auto t = read_token(config.token_file);
    if (t.ok()) token = *t;
  }
  Answer unix_req(const std::string& raw) { return exchange(connect_unix(config.socket_path), raw); }
  Answer tcp_req(const std::string& raw) { return exchange(connect_tcp(server->tcp_port()), raw); }
  Client client() {
    ClientOptions o;
    o.node = "unix:" + config.socket_path.string();
    auto c = Client::open(o);
    EXPECT_TRUE(c.ok());
    return *c;
  }
  json component() {
    for (const json& c : components_json(apps->lifecycle())) {
      if (c["component"] == "counter") return c;
    }
    return nullptr;
  }
  json node_quotas() { return quotas_json(apps->lifecycle())[0]["limits"]; }

  fs::path dir;
  ControlConfig config;
  std::unique_ptr<test::TestApps> apps;
  std::unique_ptr<Server> server;
  std::string token;
};

TEST_F(ControlServer, SocketIsMode0600InA0700DirectoryAndTheTokenFile0600) {
  start();
  struct stat st {};
  ASSERT_EQ(::stat(config.socket_path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(config.socket_path.parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat(config.token_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(token.size(), 64u);
  EXPECT_EQ(token.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(server->describe(), "unix:" + config.socket_path.string() + ", http://127.0.0.1:" +
                                    std::to_string(server->tcp_port()));
  // No temporary directory left beside the socket.
  for (const auto& e : fs::directory_iterator(config.socket_path.parent_path())) {
    EXPECT_EQ(e.path().filename().string().rfind(".control.", 0), std::string::npos) << e.path();
  }
  server->stop();
  EXPECT_FALSE(fs::exists(config.socket_path)) << "the socket is removed at stop";
}

TEST_F(ControlServer, TcpWithoutOrWithAWrongTokenIs401AndChangesNothing) {
  start();
  const json before = node_quotas();
  const std::string body = R"({"active_instances": 3})";
  for (const std::string& auth : {std::string(), std::string("Bearer nope"), "Bearer " + token + "x",
                                  "Basic " + token, "Bearer " + token.substr(0, 63)}) {
    Answer a = tcp_req(req("PUT", "/v1/quotas", body, auth));
    EXPECT_EQ(a.status, 401) << auth;
    EXPECT_TRUE(a.j().contains("error")) << a.body;
    EXPECT_NE(a.head.find("WWW-Authenticate: Bearer"), std::string::npos);
    EXPECT_EQ(tcp_req(req("GET", "/v1/apps", "", auth)).status, 401) << "reads need the token too";
    EXPECT_EQ(tcp_req(req("DELETE", "/v1/apps/counter", "", auth)).status, 401);
  }
  EXPECT_EQ(node_quotas(), before);
  EXPECT_TRUE(apps->settings().empty());
  EXPECT_EQ(apps->removes, 0);
  // The right token works, case-insensitive scheme.
  Answer ok = tcp_req(req("PUT", "/v1/quotas", body, "bearer " + token));
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(node_quotas()["active_instances"], 3);
  // On the socket the file mode is the credential; a wrong token is still refused.
  EXPECT_EQ(unix_req(req("GET", "/v1/apps")).status, 200);
  EXPECT_EQ(unix_req(req("GET", "/v1/apps", "", "Bearer " + token)).status, 200);
  EXPECT_EQ(unix_req(req("GET", "/v1/apps", "", "Bearer wrong")).status, 401);
}

TEST_F(ControlServer, AnUnauthenticatedUploadIsRefusedBeforeItsBodyIsRead) {
  start();
  // Announce 200 MiB and send none of it: the 401 comes at once.
  int fd = connect_tcp(server->tcp_port());
  auto t0 = std::chrono::steady_clock::now();
  Answer a = exchange(fd, "POST /v1/apps HTTP/1.1\r\nHost: x\r\nContent-Length: 209715200\r\n\r\n");
  EXPECT_EQ(a.status, 401);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(2000));
  EXPECT_TRUE(apps->deployed.empty());
}

TEST_F(ControlServer, NonLoopbackTcpWithoutTlsIsRefusedAtStartAndNothingIsBound) {
  for (const char* addr : {"0.0.0.0:0", "[::]:0", "192.0.2.1:7443"}) {
    config.tcp_listen = addr;
    Server s(config, *apps);
    auto r = s.start();
    ASSERT_FALSE(r.ok()) << addr;
    EXPECT_NE(r.error().message.find("without TLS"), std::string::npos) << r.error().message;
    EXPECT_FALSE(fs::exists(config.socket_path)) << "nothing bound when the config is refused";
  }
  config.tcp_listen = "127.0.0.1:0";
  config.tls_cert = dir / "only-cert.pem";
  Server s(config, *apps);
  auto r = s.start();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("both a certificate and a key"), std::string::npos) << r.error().message;
}

TEST_F(ControlServer, StartSaysWhenTheSocketOrPortIsInUseAndReplacesAStaleSocket) {
  start();
  Server second(config, *apps);
  auto r = second.start();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("in use by another running wink"), std::string::npos) << r.error().message;
  ControlConfig tcp_only = config;
  tcp_only.socket_path.clear();
  tcp_only.tcp_listen = "127.0.0.1:" + std::to_string(server->tcp_port());
  Server third(tcp_only, *apps);
  r = third.start();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("already in use"), std::string::npos) << r.error().message;
  // A socket file left by a crash (nobody listening) is replaced.
  server.reset();
  {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, config.socket_path.c_str(), sizeof sa.sun_path - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ::close(fd);
  }
  start();
  EXPECT_EQ(unix_req(req("GET", "/v1/version")).status, 200);
}

TEST_F(ControlServer, ATokenFileOthersCanReadIsRefused) {
  fs::create_directories(config.token_file.parent_path());
  std::ofstream(config.token_file) << std::string(64, 'a');
  ::chmod(config.token_file.c_str(), 0644);
  Server s(config, *apps);
  auto r = s.start();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("chmod 600"), std::string::npos) << r.error().message;
}

TEST_F(ControlServer, OutOfRangeNumbersAreRefusedWithTheReasonAndChangeNothing) {
  start();
  const json before = component();
  const json quotas_before = node_quotas();
  struct Case {
    std::string target, body, why;
  };
  for (const Case& c : std::vector<Case>{
           {"/v1/components/counter/counter/scale", R"({"max_instances": 4294967295})", "4294967295 is out of range (1..10000)"},
           {"/v1/components/counter/counter/scale", R"({"max_instances": -1})", "-1 is out of range"},
           {"/v1/components/counter/counter/scale", R"({"max_instances": 0})", "0 is out of range (1..10000)"},
           {"/v1/components/counter/counter/scale", R"({"min_instances": 1.5})", "expected an integer"},
           {"/v1/components/counter/counter/scale", R"({"min_instances": "2"})", "expected an integer"},
           {"/v1/components/counter/counter/scale", R"({"min_instances": 18446744073709551616})", "expected an integer"},
           {"/v1/components/counter/counter/scale", R"({"min_instances": 3})", "exceeds max_instances"},
           {"/v1/components/counter/counter/scale", R"({"cooldown_ms": 86400001})", "out of range"},
           {"/v1/components/counter/counter/scale", R"({"bogus": 1})", "unknown field \"bogus\""},
           {"/v1/components/counter/counter/lifecycle", R"({"idle_timeout_ms": 9})", "9 is out of range (10..86400000)"},
           {"/v1/components/counter/counter/lifecycle", R"({"stateful": "yes"})", "expected true or false"},
           {"/v1/components/counter/counter/lifecycle", R"({"scale_to_zero": "sometimes"})", "scale_to_zero"},
           {"/v1/components/counter/counter/policies/p", R"({"steps": [{"lower": -1, "adjustment": 1}]})", "out of range"},
           {"/v1/components/counter/counter/policies/p", R"({"steps": [{"lower": 0, "adjustment": 99999999999}]})", "out of range"},
           {"/v1/components/counter/counter/policies/p", R"({"steps": []})", "1 to 4 steps"},
           {"/v1/quotas", R"({"active_instances": -1})", "-1 is out of range"},
           {"/v1/quotas", R"({"memory_total": 99999999999999999999})", "expected an integer"},
           {"/v1/quotas", R"({"total_instances": 1000001})", "out of range (0..1000000)"},
           {"/v1/quotas", "[1]", "expected a JSON object"},
           {"/v1/quotas", std::string(40, '[') + std::string(40, ']'), "nested deeper than 32"},
           {"/v1/quotas", "{", "not valid JSON"}}) {
    Answer a = unix_req(req("PUT", c.target, c.body));
    EXPECT_EQ(a.status, 400) << c.target << " " << c.body << ": " << a.body;
    std::string why = a.j().value("error", std::string());
    EXPECT_NE(why.find(c.why), std::string::npos) << c.body << ": " << why;
  }
  for (const char* target : {"/v1/apps/counter/logs?max=0", "/v1/apps/counter/logs?max=1001",
                             "/v1/apps/counter/logs?after=-1", "/v1/apps/counter/logs?after=18446744073709551616",
                             "/v1/apps/counter/logs?wait_ms=30001", "/v1/apps/counter/logs?after=abc"}) {
    Answer a = unix_req(req("GET", target));
    EXPECT_EQ(a.status, 400) << target << ": " << a.body;
  }
  EXPECT_EQ(component(), before);
  EXPECT_EQ(node_quotas(), quotas_before);
  EXPECT_TRUE(apps->settings().empty());
}

TEST_F(ControlServer, GetNeverChangesState) {
  start();
  const json before = component();
  const json quotas_before = node_quotas();
  for (const char* target : {"/v1/components/counter/counter/scale", "/v1/components/counter/counter/lifecycle",
                                    "/v1/components/counter/counter/policies/p", "/v1/quotas/counter"}) {
    Answer a = unix_req(req("GET", target, R"({"max_instances": 2, "active_instances": 2})"));
    EXPECT_EQ(a.status, 405) << target << ": " << a.body;
  }
  // The old admin endpoint's query-string changes are gone.
  EXPECT_EQ(unix_req(req("GET", "/v1/quotas?scope=node&active=1")).status, 200);
  EXPECT_EQ(unix_req(req("POST", "/v1/scale?app=counter&component=counter&max=2")).status, 404);
  EXPECT_EQ(unix_req(req("POST", "/v1/quotas", R"({"active_instances": 2})")).status, 405);
  EXPECT_EQ(unix_req(req("GET", "/v1/apps/counter")).status, 200);
  EXPECT_EQ(unix_req(req("HEAD", "/v1/apps/counter")).status, 405);
  EXPECT_EQ(apps->removes, 0);
  EXPECT_EQ(component(), before);
  EXPECT_EQ(node_quotas(), quotas_before);
  EXPECT_TRUE(apps->settings().empty());
}

TEST_F(ControlServer, ChangesArePersistedAndReplayedAtStartAndAfterARedeploy) {
  start();
  Client c = client();
  ASSERT_TRUE(c.call("PUT", "/v1/components/counter/counter/scale", json{{"max_instances", 3}, {"cooldown_ms", 2000}}).ok());
  ASSERT_TRUE(c.call("PUT", "/v1/components/counter/counter/policies/burst",
                     json{{"metric", "inflight"}, {"steps", {{{"lower", 2}, {"upper", nullptr}, {"adjustment", 1}}}}})
                  .ok());
  ASSERT_TRUE(c.call("PUT", "/v1/components/counter/counter/lifecycle", json{{"idle_timeout_ms", 50}, {"stateful", false}}).ok());
  ASSERT_TRUE(c.call("PUT", "/v1/quotas", json{{"active_instances", 7}}).ok());
  ASSERT_TRUE(c.call("PUT", "/v1/quotas/counter", json{{"total_instances", 5}}).ok());
  auto s = apps->settings();
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(json::parse(apps->settings_map()->at("scale/counter/counter"))["max_instances"], 3);

  // Restart: a new node (manifest defaults) and a new server over the same settings.
  auto settings = apps->settings_map();
  server.reset();
  apps = std::make_unique<test::TestApps>(settings);
  EXPECT_EQ(component()["max_instances"], 1) << "the manifest's value before the replay";
  start();
  EXPECT_TRUE(server->replay_problems().empty());
  json comp = component();
  EXPECT_EQ(comp["max_instances"], 3);
  EXPECT_EQ(comp["cooldown_ms"], 2000);
  EXPECT_EQ(comp["idle_timeout_ms"], 50);
  EXPECT_EQ(comp["stateful"], false);
  ASSERT_EQ(comp["policies"].size(), 1u);
  EXPECT_EQ(comp["policies"][0]["name"], "burst");
  EXPECT_EQ(node_quotas()["active_instances"], 7);
  EXPECT_EQ(quotas_json(apps->lifecycle())[1]["limits"]["total_instances"], 5);

  // A redeploy starts the component from its manifest; on_switch replays.
  apps->redeploy();
  comp = component();
  EXPECT_EQ(comp["max_instances"], 3);
  EXPECT_EQ(comp["idle_timeout_ms"], 50);

  // Removing the policy persists too; removing the app forgets its settings.
  ASSERT_TRUE(c.call("DELETE", "/v1/components/counter/counter/policies/burst").ok());
  EXPECT_TRUE(json::parse(apps->settings_map()->at("scale/counter/counter"))["policies"].empty());
  auto missing = c.call("DELETE", "/v1/components/counter/counter/policies/burst");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("no policy named"), std::string::npos);
  ASSERT_TRUE(c.call("DELETE", "/v1/apps/counter").ok());
  EXPECT_EQ(apps->removes, 1);
  for (const auto& [k, v] : apps->settings()) EXPECT_EQ(k, "quotas/node");
}

TEST_F(ControlServer, TlsRoundTripWithACertificateMadeByTheTest) {
  fs::create_directories(dir);
  const fs::path cert = dir / "cert.pem", key = dir / "key.pem";
  std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=wink-test "
                    "-addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout " + key.string() + " -out " + cert.string() +
                    " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  config.tls_cert = cert;
  config.tls_key = key;
  config.socket_path.clear();
  start();
  const std::string url = "https://127.0.0.1:" + std::to_string(server->tcp_port());
  EXPECT_EQ(server->describe(), url);
  ClientOptions o;
  o.node = url;
  o.token_file = config.token_file;
  o.ca_file = cert;
  auto c = Client::open(o);
  ASSERT_TRUE(c.ok()) << c.error().message;
  auto v = c->call("GET", "/v1/version");
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_TRUE((*v)["version"].is_string());
  ASSERT_TRUE(c->call("PUT", "/v1/quotas", json{{"active_instances", 9}}).ok());
  EXPECT_EQ(node_quotas()["active_instances"], 9);
  // Without the token over TLS: 401.
  ClientOptions no_token = o;
  no_token.token_file.clear();
  no_token.data_dir = dir / "elsewhere";
  auto nt = Client::open(no_token);
  ASSERT_TRUE(nt.ok());
  auto refused = nt->call("GET", "/v1/apps");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("Authorization"), std::string::npos) << refused.error().message;
  // Without trusting the test CA: the handshake fails, nothing is sent.
  ClientOptions untrusted = o;
  untrusted.ca_file = dir / "empty-ca.pem";
  std::ofstream(untrusted.ca_file) << "";
  auto u = Client::open(untrusted);
  ASSERT_TRUE(u.ok());
  auto bad = u->call("GET", "/v1/version");
  ASSERT_FALSE(bad.ok());
  // The name must match too.
  ClientOptions wrong_name = o;
  wrong_name.node = "https://127.0.0.2:" + std::to_string(server->tcp_port());
  auto w = Client::open(wrong_name);
  ASSERT_TRUE(w.ok());
  EXPECT_FALSE(w->call("GET", "/v1/version").ok());
  // Plain HTTP to the TLS port gets no answer.
  EXPECT_EQ(tcp_req(req("GET", "/v1/version", "", "Bearer " + token)).status, 0);
}

TEST_F(ControlServer, BodiesOverTheLimitsAre413) {
  config.max_body_bytes = 1024;
  config.max_bundle_bytes = 4096;
  start();
  Answer a = unix_req(req("PUT", "/v1/quotas", "{\"active_instances\": 1" + std::string(2000, ' ') + "}"));
  EXPECT_EQ(a.status, 413) << a.body;
  a = unix_req(req("POST", "/v1/apps", std::string(5000, 'x')));
  EXPECT_EQ(a.status, 413) << a.body;
  // Chunked, without a length up front: cut off as it passes the limit.
  std::string chunked = "PUT /v1/quotas HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 4; ++i) chunked += "200\r\n" + std::string(512, ' ') + "\r\n";
  a = unix_req(chunked + "0\r\n\r\n");
  EXPECT_EQ(a.status, 413) << a.body;
  EXPECT_EQ(node_quotas()["active_instances"], 0);
}

TEST_F(ControlServer, SlowClientsAreCutOffAndConnectionsAreBounded) {
  config.io_timeout = milliseconds(300);
  config.max_connections = 2;
  start();
  // A head that never ends.
  int slow = connect_unix(config.socket_path);
  ASSERT_GE(slow, 0);
  (void)!::send(slow, "GET /v1/apps HTTP/1.1\r\n", 23, MSG_NOSIGNAL);
  auto t0 = std::chrono::steady_clock::now();
  // Two idle connections hold both slots; a third gets 503 at once.
  int other = connect_unix(config.socket_path);
  std::this_thread::sleep_for(milliseconds(50));
  Answer busy = unix_req(req("GET", "/v1/apps"));
  EXPECT_EQ(busy.status, 503) << busy.body;
  Answer cut = exchange(slow, "Host: x\r\n");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(3000));
  EXPECT_TRUE(cut.status == 408 || cut.status == 0) << cut.status;
  ::close(other);
  // A slot is free again once the server thread of a closed connection has
  // exited; on a loaded machine that takes a moment.
  int status = 0;
  for (int i = 0; i < 250; ++i) {
    status = unix_req(req("GET", "/v1/apps")).status;
    if (status == 200) break;
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_EQ(status, 200) << "slots come back";
}

TEST_F(ControlServer, DeployStreamsProgressAndRefusesAMaliciousBundle) {
  start();
  Client c = client();
  node::Bundle b;
  b.files.push_back({"wink.toml", "[app]\nname = \"x\"\n", false});
  std::vector<std::string> lines;
  auto r = c.request("POST", "/v1/apps?name=shop", write_bundle(b), "application/vnd.wink.bundle",
                     [&](const std::string& l) { lines.push_back(l); });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(json::parse(lines[0])["stage"], "validated");
  EXPECT_EQ(json::parse(lines[1])["stage"], "compiling");
  EXPECT_EQ(json::parse(lines[2])["result"]["app"], "shop");
  ASSERT_EQ(apps->deployed.size(), 1u);
  EXPECT_EQ(apps->deployed[0].files[0].path, "wink.toml");

  std::string evil = write_bundle(b);
  b.files.push_back({"../../etc/cron.d/x", "* * * * * root sh", false});
  auto bad = c.call("POST", "/v1/apps", nullptr);
  EXPECT_FALSE(bad.ok());
  auto r2 = c.request("POST", "/v1/apps", write_bundle(b), "application/vnd.wink.bundle");
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->status, 400);
  EXPECT_NE(r2->body.find("\\\"..\\\" in path"), std::string::npos) << r2->body;
  auto r3 = c.request("POST", "/v1/apps?name=Bad_Name", evil, "application/vnd.wink.bundle");
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ(r3->status, 400);
  EXPECT_EQ(apps->deployed.size(), 1u) << "refused bundles never reach the node";
}

TEST_F(ControlServer, LogsLongPollUntilALineArrives) {
  start();
  Client c = client();
  apps->add_log(R"({"msg":"one"})");
  auto first = c.call("GET", "/v1/apps/counter/logs?after=0");
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_EQ((*first)["lines"].size(), 1u);
  EXPECT_EQ((*first)["lines"][0]["log"]["msg"], "one");
  EXPECT_EQ((*first)["last"], 1);
  std::thread later([&] {
    std::this_thread::sleep_for(milliseconds(150));
    apps->add_log(R"({"msg":"two"})");
  });
  auto t0 = std::chrono::steady_clock::now();
  auto next = c.call("GET", "/v1/apps/counter/logs?after=1&wait_ms=5000");
  later.join();
  ASSERT_TRUE(next.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(2000));
  ASSERT_EQ((*next)["lines"].size(), 1u);
  EXPECT_EQ((*next)["lines"][0]["log"]["msg"], "two");
  auto none = c.call("GET", "/v1/apps/counter/logs?after=2&wait_ms=100");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE((*none)["lines"].empty());
  auto missing = c.call("GET", "/v1/apps/nope/logs");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("no app"), std::string::npos);
}

TEST_F(ControlServer, ViewsShowInstancesComponentsAndQuotas) {
  start();
  lifecycle::Node& life = apps->lifecycle();
  lifecycle::Node::Component* c = life.find("counter", "counter");
  ASSERT_NE(c, nullptr);
  auto r = life.call(*c, {"REQUEST_METHOD=GET", "QUERY_STRING=", "PATH_INFO=/"}, "");
  ASSERT_EQ(r.rejected, 0) << r.reason;
  Client cl = client();
  auto inst = cl.call("GET", "/v1/instances");
  ASSERT_TRUE(inst.ok()) << inst.error().message;
  ASSERT_EQ(inst->size(), 1u) << inst->dump();
  EXPECT_EQ((*inst)[0]["name"], "counter-counter-1");
  EXPECT_EQ((*inst)[0]["state"], "running");
  EXPECT_EQ((*inst)[0]["requests"], 1);
  EXPECT_GT((*inst)[0]["created_ms"].get<int64_t>(), 0);
  auto comps = cl.call("GET", "/v1/components");
  ASSERT_TRUE(comps.ok());
  EXPECT_EQ((*comps)[0]["idle_timeout_ms"], 1000);
  EXPECT_EQ((*comps)[0]["memory_limit"], 16u << 20);
  EXPECT_EQ((*comps)[0]["requests"], 1);
  auto quotas = cl.call("GET", "/v1/quotas");
  ASSERT_TRUE(quotas.ok());
  EXPECT_EQ((*quotas)[0]["scope"], "node");
  EXPECT_EQ((*quotas)[1]["scope"], "app counter");
  EXPECT_EQ((*quotas)[0]["used"]["active_instances"], 1);
}

TEST_F(ControlServer, TheAdminCommandsTalkToTheControlApi) {
  start();
  const std::string node = " --node unix:" + config.socket_path.string();
  std::string ls = run_cli("instance ls" + node);
  EXPECT_NE(ls.find("NAME"), std::string::npos) << ls;
  std::string quotas = run_cli("quotas" + node);
  EXPECT_NE(quotas.find("active instances"), std::string::npos) << quotas;
  std::string set = run_cli("quotas set --active-instances 4" + node);
  EXPECT_NE(set.find(" / 4"), std::string::npos) << set;
  std::string neg = run_cli("quotas set --active-instances -1" + node);
  EXPECT_NE(neg.find("Error: active_instances: -1 is out of range"), std::string::npos) << neg;
  std::string scale = run_cli("scale set counter/counter --max 3 --cooldown 2000" + node);
  EXPECT_NE(scale.find("max size:      3"), std::string::npos) << scale;
  EXPECT_NE(scale.find("cooldown:      2s"), std::string::npos) << scale;
  std::string huge = run_cli("scale set counter/counter --max 4294967295" + node);
  EXPECT_NE(huge.find("Error: max_instances: 4294967295 is out of range (1..10000)"), std::string::npos) << huge;
  scale = run_cli("scale policy add counter/counter --name burst --metric inflight --adjustment change "
                  "--step 2::1 --step 0:1:-1" + node);
  EXPECT_NE(scale.find("[2..inf: +1]"), std::string::npos) << scale;
  scale = run_cli("scale set counter/counter --min 5" + node);
  EXPECT_NE(scale.find("Error: min_instances (5) exceeds max_instances (3)"), std::string::npos) << scale;
  std::string bad = run_cli("scale set nope/nope --max 1" + node);
  EXPECT_NE(bad.find("no long-lived component"), std::string::npos) << bad;
  std::string lc = run_cli("scale lifecycle counter/counter --scale-to-zero idle --idle-timeout 50" + node);
  EXPECT_NE(lc.find("scale to zero: idle"), std::string::npos) << lc;
  std::string apps_ls = run_cli("apps ls" + node);
  EXPECT_NE(apps_ls.find("counter.localhost"), std::string::npos) << apps_ls;
  // Over TCP without the token: refused.
  std::string tcp = run_cli("quotas --node http://127.0.0.1:" + std::to_string(server->tcp_port()) + " --data-dir " +
                            (dir / "nowhere").string());
  EXPECT_NE(tcp.find("Error: missing Authorization"), std::string::npos) << tcp;
  std::string with = run_cli("quotas --node http://127.0.0.1:" + std::to_string(server->tcp_port()) + " --token-file " +
                             config.token_file.string());
  EXPECT_NE(with.find(" / 4"), std::string::npos) << with;
  // No node running at all: a clear error.
  std::string none = run_cli("apps ls --node unix:" + (dir / "none.sock").string());
  EXPECT_NE(none.find("cannot reach a wink node"), std::string::npos) << none;
}

}  // namespace
}  // namespace wink::control
