// node::Registry: deploy, switch, remove, restart, routing (registry.h).
#include "node/registry.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <random>

#include "common/files.h"
#include "common/hash.h"
#include "host/metrics.h"
#include "manifest/manifest.h"
#include "node/catalog.h"
#include "node/log_ring.h"

namespace wink::node {
namespace fs = std::filesystem;

// Request figures of an app, shared by its versions.
struct AppCounters {
  std::atomic<uint64_t> requests{0};
  std::atomic<int64_t> last_request_ms{0};  // unix ms; 0: never
};

// A version's directory: removed from disk when the last version using it is
// gone and no newer deploy adopted it again.
struct Registry::VersionDir {
  fs::path path;
  ~VersionDir() {
    std::error_code ec;
    if (keep) return;
    fs::remove_all(path, ec);
    fs::remove(path.parent_path(), ec);  // the app's directory, once its last version is gone
  }
  std::atomic<bool> keep{false};  // still the serving dir when the registry closes
};

struct Registry::Entry {
  std::string name;
  std::mutex deploy_mu;  // one deploy or remove of this app at a time
  std::shared_ptr<host::Node> host;
  std::shared_ptr<LogRing> logs;
  std::shared_ptr<AppCounters> counters = std::make_shared<AppCounters>();
  // Under Registry::table_mu_:
  std::shared_ptr<const Version> serving;
  std::vector<std::string> hosts;
  std::string state = "deploying";
  std::string last_error;
  int64_t deployed_ms = 0;
  bool removed = false;
};

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A request's `last_request`: the kernel's coarse wall clock (a tick's
// resolution, a few ms, is plenty there, and it reads in a tenth of the time).
int64_t coarse_now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1'000'000;
}

std::string random_hex() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(::getpid()));
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(gen()));
  return buf;
}

// "/tmp/x/wink.toml:3:4: ..." -> "wink.toml:3:4: ..." for every occurrence of `dir`/.
std::string relative_to(std::string message, const fs::path& dir) {
  const std::string prefix = dir.string() + "/";
  for (size_t at; (at = message.find(prefix)) != std::string::npos;) message.erase(at, prefix.size());
  return message;
}

bool safe_bundle_path(std::string_view p) {
  if (p.empty() || p.front() == '/' || p.size() > 4096) return false;
  size_t start = 0;
  for (;;) {
    size_t slash = p.find('/', start);
    std::string_view seg = p.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    if (seg.find('\0') != std::string_view::npos) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

// Writes the bundle's files under `dir` (created); refuses unsafe paths.
Result<void> write_bundle(const Bundle& bundle, const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error("cannot create " + dir.string() + ": " + ec.message());
  for (const BundleFile& f : bundle.files) {
    if (!safe_bundle_path(f.path)) return make_error("bundle: unsafe file path \"" + f.path + "\"");
    const fs::path target = dir / f.path;
    fs::create_directories(target.parent_path(), ec);
    int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, f.executable ? 0755 : 0644);
    if (fd < 0) return make_error("bundle: cannot write \"" + f.path + "\": " + std::strerror(errno));
    size_t off = 0;
    while (off < f.bytes.size()) {
      ssize_t n = ::write(fd, f.bytes.data() + off, f.bytes.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        int err = errno;
        ::close(fd);
        return make_error("bundle: cannot write \"" + f.path + "\": " + std::strerror(err));
      }
      off += static_cast<size_t>(n);
    }
    ::close(fd);
  }
  // On disk before the catalog says this version serves (adopt_dir syncs
  // the rename): after a power cut the files are whole or the switch never
  // happened (docs/operations.md, "Durability").
  if (auto synced = sync_tree(dir); !synced.ok()) return make_error("bundle: " + synced.error().message);
  return {};
}

std::string app_field(std::string_view line) {
  // Lifecycle events carry "app":"<name>" (names are DNS labels: no escapes).
  size_t at = line.find("\"app\":\"");
  if (at == std::string_view::npos) return {};
  at += 7;
  size_t end = line.find('"', at);
  return end == std::string_view::npos ? std::string() : std::string(line.substr(at, end - at));
}

}  // namespace

std::string host_of(std::string_view header) {
  std::string_view h = header;
  while (!h.empty() && (h.front() == ' ' || h.front() == '\t')) h.remove_prefix(1);
  while (!h.empty() && (h.back() == ' ' || h.back() == '\t')) h.remove_suffix(1);
  if (!h.empty() && h.front() == '[') {
    size_t close = h.find(']');
    h = close == std::string_view::npos ? h : h.substr(0, close + 1);
  } else if (size_t colon = h.rfind(':'); colon != std::string_view::npos) {
    h = h.substr(0, colon);
  }
  if (!h.empty() && h.back() == '.') h.remove_suffix(1);
  std::string out(h);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');  // ASCII only: no locale
  }
  return out;
}

std::string bundle_digest(const Bundle& bundle) {
  std::vector<const BundleFile*> files;
  for (const auto& f : bundle.files) files.push_back(&f);
  std::sort(files.begin(), files.end(), [](auto* a, auto* b) { return a->path < b->path; });
  Sha256 h;
  for (const BundleFile* f : files) {
    // Length-prefixed fields: no two bundles hash the same input.
    h.update(std::to_string(f->path.size()) + ":" + f->path + (f->executable ? ":x:" : ":-:") +
             std::to_string(f->bytes.size()) + ":");
    h.update(std::string_view(f->bytes));
  }
  return h.hex();
}

// bundle_digest of the files a version directory holds now, reading one
// file at a time: at start, what a deploy wrote is checked against the
// catalog (a power cut or a disk may have damaged it).
static Result<std::string> directory_digest(const fs::path& dir) {
  struct Entry {
    std::string path;
    bool executable;
  };
  std::vector<Entry> entries;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it); it.increment(ec)) {
    auto st = it->symlink_status(ec);
    if (ec) break;
    if (st.type() == fs::file_type::directory) continue;
    const std::string rel = fs::relative(it->path(), dir, ec).generic_string();
    if (st.type() != fs::file_type::regular) return make_error("\"" + rel + "\" is not a regular file");
    entries.push_back({rel, (st.permissions() & fs::perms::owner_exec) != fs::perms::none});
  }
  if (ec) return make_error("cannot list " + dir.string() + ": " + ec.message());
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.path < b.path; });
  Sha256 h;
  for (const Entry& e : entries) {
    WINK_ASSIGN_OR_RETURN(auto bytes, read_file(dir / e.path));
    h.update(std::to_string(e.path.size()) + ":" + e.path + (e.executable ? ":x:" : ":-:") +
             std::to_string(bytes.size()) + ":");
    h.update(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  }
  return h.hex();
}

// ---- Version ----

Version::~Version() = default;

void Version::handle(const http::Request& request, http::Response& response) const {
  counters_->requests.fetch_add(1, std::memory_order_relaxed);
  counters_->last_request_ms.store(coarse_now_ms(), std::memory_order_relaxed);
  handler_->handle(request, response);
  response.log.version = number_;  // the access log says which version answered
}

// ---- Registry ----

namespace {

// Bumped by every change to any registry's table (and by each registry's
// construction, so a memo never outlives its registry's address).
std::atomic<uint64_t> g_table_generation{1};

// This thread's last route: the Host header it was for and the version it
// found, good while no table changed since. A weak reference: it keeps no
// replaced version (its files, its instances) alive.
struct RouteMemo {
  const Registry* registry = nullptr;
  uint64_t generation = 0;
  std::string host_header;
  std::weak_ptr<const Version> version;
};
thread_local RouteMemo t_route;

}  // namespace

Registry::Registry(RegistryConfig config) : config_(std::move(config)) {
  url_port_ = config_.url_port;
  g_table_generation.fetch_add(1, std::memory_order_acq_rel);
}

Registry::~Registry() {
  // Serving versions keep their directories; drained ones already went.
  // Versions are dropped outside table_mu_: undeploying waits for the
  // lifecycle timer thread, whose log lines take table_mu_.
  std::map<std::string, std::shared_ptr<Entry>, std::less<>> apps;
  {
    auto lock = write_table();
    for (auto& [name, e] : apps_) {
      if (e->serving) e->serving->dir_->keep = true;
      e->logs->close();
    }
    hosts_.clear();
    apps.swap(apps_);
  }
  apps.clear();
  life_.reset();  // its timer thread logs through this registry: stop it first
}

Result<std::unique_ptr<Registry>> Registry::open(RegistryConfig config) {
  if (config.data_dir.empty()) return make_error("node: no data directory");
  if (std::string why = manifest::check_host_name(config.domain); !why.empty()) {
    return make_error("--domain \"" + config.domain + "\" " + why);
  }
  config.tenancy.data_dir = config.data_dir;
  WINK_TRY(check_tenancy(config.tenancy));
  std::unique_ptr<Registry> r(new Registry(std::move(config)));
  WINK_TRY(r->start());
  return r;
}

Result<void> Registry::start() {
  WINK_ASSIGN_OR_RETURN(catalog_, Catalog::open(config_.ephemeral ? fs::path(":memory:") : config_.data_dir / "node.db"));
  engine::EngineConfig ec;
  ec.data_dir = config_.data_dir;
  ec.compile.opt_level = config_.opt_level;
  ec.compile.progress = config_.compile_progress;
  ec.quick_tier_threshold = config_.quick_tier_threshold;
  engine_ = std::make_unique<engine::Engine>(ec);
  lifecycle::NodeOptions lo = config_.lifecycle;
  lo.log = [this](std::string_view lines) {
    // Lifecycle events to the ring of the app they name.
    while (!lines.empty()) {
      size_t nl = lines.find('\n');
      std::string_view one = lines.substr(0, nl);
      std::shared_ptr<Entry> e;
      {
        std::shared_lock lock(table_mu_);
        auto it = apps_.find(app_field(one));
        if (it != apps_.end()) e = it->second;
      }
      if (e) log_to(*e, std::string(one) + "\n");
      else if (config_.log) config_.log(std::string(one) + "\n");
      if (nl == std::string_view::npos) break;
      lines.remove_prefix(nl + 1);
    }
  };
  life_ = std::make_unique<lifecycle::Node>(lo);

  if (config_.ephemeral) return {};
  // What a crash left behind: staging dirs, unreferenced versions, forgotten apps.
  WINK_ASSIGN_OR_RETURN(auto rows, catalog_->apps());
  std::map<std::string, std::string> serving;
  for (const auto& row : rows) serving[row.name] = row.digest;
  const fs::path apps_dir = config_.data_dir / "apps";
  std::error_code ec2;
  fs::create_directories(apps_dir, ec2);
  for (const auto& d : fs::directory_iterator(apps_dir, ec2)) {
    const std::string name = d.path().filename().string();
    auto it = serving.find(name);
    if (it == serving.end()) {
      fs::remove_all(d.path(), ec2);
      if (name != ".staging") fs::remove_all(config_.data_dir / "kv" / name, ec2);  // removed, not yet cleaned
      ++stats_.dirs_removed_at_start;
      continue;
    }
    for (const auto& v : fs::directory_iterator(d.path(), ec2)) {
      if (v.path().filename() != it->second) {
        fs::remove_all(v.path(), ec2);
        ++stats_.dirs_removed_at_start;
      }
    }
  }

  // Key-value data of apps removed just before a crash (the default layout).
  for (const auto& d : fs::directory_iterator(config_.data_dir / "kv", ec2)) {
    if (d.is_directory() && !serving.count(d.path().filename().string())) {
      fs::remove_all(d.path(), ec2);
      ++stats_.dirs_removed_at_start;
    }
  }

  // Serve every app again (cached artifacts and snapshots; nothing runs).
  for (const auto& row : rows) {
    auto e = entry_for(row.name, true);
    std::lock_guard deploy_lock(e->deploy_mu);
    const fs::path dir_path = apps_dir / row.name / row.digest;
    auto dir = std::make_shared<VersionDir>();
    dir->path = dir_path;
    {
      std::lock_guard lock(dirs_mu_);
      dirs_[dir_path] = dir;
    }
    // Files that no longer hash to the catalog's digest (a power cut before
    // fsync on an older wink, a damaged disk) are never loaded.
    Result<std::shared_ptr<Version>> v = make_error("");
    auto on_disk = directory_digest(dir_path);
    if (!on_disk.ok()) {
      v = make_error("its files cannot be read: " + on_disk.error().message);
    } else if (*on_disk != row.digest) {
      v = make_error("its files on disk do not match the digest of what was deployed (damaged: " + dir_path.string() +
                     "); deploy it again");
    } else {
      v = load_version(*e, dir, row.version, row.digest);
    }
    auto lock = write_table();
    e->deployed_ms = row.deployed_ms;
    e->last_error = row.last_error;
    if (!v.ok()) {
      dir->keep = true;  // its files stay: the next start (or a deploy) tries again
      e->state = "failed";
      e->last_error = "loading version " + std::to_string(row.version) + " at start: " + v.error().message;
      ++stats_.apps_failed_at_start;
      if (config_.log) config_.log("{\"level\":\"error\",\"msg\":\"app not loaded\",\"app\":\"" + row.name + "\"}\n");
      continue;
    }
    e->serving = std::move(*v);
    e->state = row.last_error.empty() ? "serving" : "failed";
    e->hosts = e->serving->hosts_;
    for (const auto& h : e->hosts) hosts_[h] = e;
    ++stats_.apps_loaded_at_start;
  }
  return {};
}

std::shared_ptr<Registry::Entry> Registry::entry_for(const std::string& app, bool create) {
  auto lock = write_table();
  auto it = apps_.find(app);
  if (it != apps_.end()) return it->second;
  if (!create) return nullptr;
  auto e = std::make_shared<Entry>();
  e->name = app;
  e->logs = std::make_shared<LogRing>(config_.log_lines_per_app);
  std::weak_ptr<LogRing> ring = e->logs;
  auto sink = config_.log;
  e->host = app_host_node(config_.tenancy, app, [ring, sink](std::string_view lines) {
    if (auto r = ring.lock()) r->append_lines(lines);
    if (sink) sink(lines);
  });
  apps_.emplace(app, e);
  return e;
}

void Registry::log_to(Entry& entry, std::string_view lines) const {
  entry.logs->append_lines(lines);
  if (config_.log) config_.log(lines);
}

std::shared_ptr<Registry::VersionDir> Registry::adopt_dir(const fs::path& staging, const fs::path& final_dir,
                                                          std::string* error) {
  std::lock_guard lock(dirs_mu_);
  std::error_code ec;
  if (auto it = dirs_.find(final_dir); it != dirs_.end()) {
    if (auto live = it->second.lock()) {
      // The same content is still on disk for a draining version: share it.
      fs::remove_all(staging, ec);
      return live;
    }
  }
  fs::remove_all(final_dir, ec);  // a leftover of a version that went
  fs::create_directories(final_dir.parent_path(), ec);
  fs::rename(staging, final_dir, ec);
  if (ec) {
    *error = "cannot move the bundle into " + final_dir.string() + ": " + ec.message();
    fs::remove_all(staging, ec);
    return nullptr;
  }
  // The rename (and apps/<name>, when new) durable before the switch commits.
  for (const fs::path& d : {final_dir.parent_path(), final_dir.parent_path().parent_path()}) {
    if (auto synced = sync_path(d); !synced.ok()) {
      *error = synced.error().message;
      return nullptr;
    }
  }
  auto dir = std::make_shared<VersionDir>();
  dir->path = final_dir;
  dirs_[final_dir] = dir;
  return dir;
}

Result<std::shared_ptr<Version>> Registry::load_version(Entry& entry, std::shared_ptr<VersionDir> dir,
                                                        uint64_t number, const std::string& digest) {
  auto m = manifest::load(dir->path);
  if (!m.ok()) return make_error(relative_to(m.error().message, dir->path));
  m->display = "wink.toml";
  return load_version(entry, std::move(dir), number, digest, std::move(*m));
}

Result<std::shared_ptr<Version>> Registry::load_version(Entry& entry, std::shared_ptr<VersionDir> dir,
                                                        uint64_t number, const std::string& digest,
                                                        manifest::Manifest manifest) {
  auto m = &manifest;
  m->app_name = entry.name;
  auto v = std::make_shared<Version>();
  v->app_ = entry.name;
  v->number_ = number;
  v->digest_ = digest;
  v->dir_ = std::move(dir);
  v->counters_ = entry.counters;
  v->hosts_.push_back(entry.name + "." + config_.domain);
  for (const auto& h : m->hosts) {
    if (h.value != v->hosts_.front()) v->hosts_.push_back(h.value);
  }
  if (m->quotas.any()) {
    lifecycle::Quotas q;
    q.active_instances = m->quotas.active_instances;
    q.total_instances = m->quotas.total_instances;
    q.memory_per_instance = m->quotas.memory_per_instance;
    q.memory_total = m->quotas.memory_total;
    life_->set_app_quotas(entry.name, q);
  } else {
    life_->set_app_quotas(entry.name, config_.lifecycle.app_quotas);
  }
  wagi::AppOptions options;
  options.host = entry.host;
  std::weak_ptr<LogRing> ring = entry.logs;
  auto sink = config_.log;
  options.log = [ring, sink](std::string_view lines) {
    if (auto r = ring.lock()) r->append_lines(lines);
    if (sink) sink(lines);
  };
  auto handler = lifecycle::App::load(std::move(*m), *engine_, *life_, options, number);
  if (!handler.ok()) {
    return config_.ephemeral ? std::move(handler).error() : make_error(relative_to(handler.error().message, v->dir_->path));
  }
  v->handler_ = std::move(*handler);
  return v;
}

std::vector<std::string> Registry::urls_for(const std::vector<std::string>& hosts) const {
  std::vector<std::string> out;
  const uint16_t port = url_port_;
  for (const auto& h : hosts) {
    out.push_back("http://" + h + (port && port != 80 ? ":" + std::to_string(port) : std::string()) + "/");
  }
  return out;
}

Result<DeployResult> Registry::deploy(Bundle bundle, const DeployOptions& options, const DeployProgress& progress) {
  std::shared_ptr<Entry> entry;
  auto emit = [&](const std::string& stage, const std::string& message) {
    DeployEvent ev{stage, message};
    if (progress) progress(ev);
    if (entry) log_to(*entry, deploy_log_line(ev) + "\n");
  };
  uint64_t total = 0;
  for (const auto& f : bundle.files) total += f.bytes.size();
  emit("received", std::to_string(bundle.files.size()) + " files, " + std::to_string(total) + " bytes");
  const std::string digest = bundle_digest(bundle);

  // Unpack into a staging dir and validate the manifest there.
  const fs::path staging = config_.data_dir / "apps" / ".staging" / random_hex();
  auto drop_staging = [&] {
    std::error_code ec;
    fs::remove_all(staging, ec);
  };
  auto fail_early = [&](const std::string& why) -> Error {
    drop_staging();
    if (progress) progress(DeployEvent{"failed", why});
    return make_error(why);
  };
  bool has_manifest = false;
  for (const auto& f : bundle.files) has_manifest |= f.path == "wink.toml";
  if (!has_manifest) return fail_early("bundle has no wink.toml at its root");
  if (auto w = write_bundle(bundle, staging); !w.ok()) return fail_early(w.error().message);
  bundle = {};  // the bytes are on disk now
  auto m = manifest::load(staging);
  std::string name = options.name;
  if (name.empty() && m.ok()) name = m->app_name;
  if (name.empty()) {
    // A refused manifest still says whose it is, if its [app] name is readable.
    auto text = read_text_file(staging / "wink.toml");
    if (text.ok()) name = manifest::app_name_of(*text);
  }
  if (!m.ok() && (name.empty() || !entry_for(name, false))) {
    return fail_early(relative_to(m.error().message, staging));
  }
  if (std::string why = manifest::check_app_name(name); !why.empty()) {
    return fail_early("app name \"" + name + "\" " + why);
  }
  std::unique_lock<std::mutex> deploy_lock;
  for (;;) {
    entry = entry_for(name, true);
    deploy_lock = std::unique_lock(entry->deploy_mu);
    if (!entry->removed) break;
    // Removed (or a failed first deploy) while we waited for its lock: a new entry.
    deploy_lock.unlock();
  }
  auto fail = [&](const std::string& why) -> Error {
    drop_staging();
    emit("failed", why);
    (void)catalog_->set_last_error(name, why);
    auto lock = write_table();
    for (auto it = host_claims_.begin(); it != host_claims_.end();) {
      it = it->second == name ? host_claims_.erase(it) : std::next(it);
    }
    if (entry->serving) {
      entry->state = "failed";
      entry->last_error = why;
    } else if (!entry->removed) {
      // A first deploy that failed leaves no app behind.
      entry->removed = true;
      entry->logs->close();
      auto it = apps_.find(name);
      if (it != apps_.end() && it->second == entry) apps_.erase(it);
    }
    return make_error(why);
  };

  if (!m.ok()) return fail(relative_to(m.error().message, staging));
  std::shared_ptr<const Version> old;
  {
    std::shared_lock lock(table_mu_);
    old = entry->serving;
  }
  if (old && old->digest() == digest) {
    drop_staging();
    emit("unchanged", "version " + std::to_string(old->number()) + " already serves this content");
    DeployResult r;
    r.app = name;
    r.version = old->number();
    r.unchanged = true;
    r.digest = digest;
    r.urls = urls_for(old->hosts_);
    return r;
  }

  // Hosts: <app>.<domain> and the manifest's; refused if another app has one.
  std::vector<std::string> hosts{name + "." + config_.domain};
  for (const auto& h : m->hosts) {
    if (h.value != hosts.front()) hosts.push_back(h.value);
  }
  {
    auto lock = write_table();
    for (const auto& h : hosts) {
      auto it = hosts_.find(h);
      if (it != hosts_.end() && it->second->name != name) {
        lock.unlock();
        return fail("host \"" + h + "\" is already served by app \"" + it->second->name + "\"");
      }
      auto claim = host_claims_.find(h);
      if (claim != host_claims_.end() && claim->second != name) {
        lock.unlock();
        return fail("host \"" + h + "\" is being deployed by app \"" + claim->second + "\"");
      }
    }
    for (const auto& h : hosts) host_claims_[h] = name;
  }
  emit("validated", "app \"" + name + "\", " + std::to_string(m->components.size()) + " component(s), hosts " +
                        [&] {
                          std::string s;
                          for (const auto& h : hosts) s += (s.empty() ? "" : ", ") + h;
                          return s;
                        }());

  auto number = catalog_->next_version(name);
  if (!number.ok()) return fail(number.error().message);
  std::string move_error;
  auto dir = adopt_dir(staging, config_.data_dir / "apps" / name / digest, &move_error);
  if (!dir) return fail(move_error);
  emit("compiling", std::to_string(m->components.size()) + " component(s)");
  auto loaded = load_version(*entry, dir, *number, digest);
  if (!loaded.ok()) {
    // Restore the serving version's quotas (load_version set the new ones).
    if (old) {
      auto om = manifest::load(old->dir_->path);
      if (om.ok() && om->quotas.any()) {
        life_->set_app_quotas(name, {om->quotas.active_instances, om->quotas.total_instances,
                                     om->quotas.memory_per_instance, om->quotas.memory_total});
      } else {
        life_->set_app_quotas(name, config_.lifecycle.app_quotas);
      }
    }
    return fail(loaded.error().message);
  }
  std::shared_ptr<Version> v = std::move(*loaded);
  emit("compiled", "version " + std::to_string(*number) + " loaded");
  emit("ready", "version " + std::to_string(*number) + " ready");

  // Durable first, then traffic: a crash between the two serves it after restart.
  AppRow row{name, *number, digest, now_ms(), ""};
  if (auto s = catalog_->switch_to(row); !s.ok()) return fail(s.error().message);
  {
    auto lock = write_table();
    for (const auto& h : entry->hosts) {
      auto it = hosts_.find(h);
      if (it != hosts_.end() && it->second == entry) hosts_.erase(it);
    }
    for (const auto& h : hosts) {
      hosts_[h] = entry;
      host_claims_.erase(h);
    }
    entry->hosts = hosts;
    entry->serving = v;
    entry->state = "serving";
    entry->last_error.clear();
    entry->deployed_ms = row.deployed_ms;
  }
  emit("switched", "version " + std::to_string(*number) + " serves" +
                       (old ? " (version " + std::to_string(old->number()) + " drains)" : std::string()));
  std::vector<std::function<void(const std::string&)>> callbacks;
  {
    std::lock_guard lock(callbacks_mu_);
    callbacks = on_switch_;
  }
  for (const auto& cb : callbacks) cb(name);
  DeployResult r;
  r.app = name;
  r.version = *number;
  r.digest = digest;
  r.urls = urls_for(hosts);
  return r;
}

Result<DeployResult> Registry::deploy_directory(const fs::path& dir, const std::string& name_flag) {
  auto m = manifest::load(dir);
  if (!m.ok()) return std::move(m).error();
  const std::string name = name_flag.empty() ? m->app_name : name_flag;
  auto entry = entry_for(name, true);
  std::lock_guard deploy_lock(entry->deploy_mu);
  auto vdir = std::make_shared<VersionDir>();
  vdir->path = m->dir;
  vdir->keep = true;  // the developer's directory: never removed
  auto v = load_version(*entry, vdir, 1, "", std::move(*m));
  if (!v.ok()) {
    auto lock = write_table();
    apps_.erase(name);
    return std::move(v).error();
  }
  DeployResult r;
  r.app = name;
  r.version = 1;
  auto lock = write_table();
  for (const auto& h : (*v)->hosts_) {
    auto it = hosts_.find(h);
    if (it != hosts_.end() && it->second != entry) {
      return make_error("host \"" + h + "\" is already served by app \"" + it->second->name + "\"");
    }
  }
  for (const auto& h : (*v)->hosts_) hosts_[h] = entry;
  entry->hosts = (*v)->hosts_;
  entry->serving = std::move(*v);
  entry->state = "serving";
  entry->deployed_ms = now_ms();
  r.urls = urls_for(entry->hosts);
  return r;
}

Result<void> Registry::remove(const std::string& app) {
  auto entry = entry_for(app, false);
  if (!entry) return make_error("no app \"" + app + "\"");
  std::lock_guard deploy_lock(entry->deploy_mu);
  if (entry->removed) return make_error("no app \"" + app + "\"");
  WINK_TRY(catalog_->remove(app));
  std::shared_ptr<const Version> old;
  {
    auto lock = write_table();
    for (const auto& h : entry->hosts) {
      auto it = hosts_.find(h);
      if (it != hosts_.end() && it->second == entry) hosts_.erase(it);
    }
    entry->hosts.clear();
    old = std::move(entry->serving);
    entry->removed = true;
    auto it = apps_.find(app);
    if (it != apps_.end() && it->second == entry) apps_.erase(it);
  }
  entry->logs->close();
  old.reset();  // in-flight requests finish on it; then its files go
  return delete_app_data(config_.tenancy, *entry->host, app);
}

AppInfo Registry::info_of(const Entry& e) const {
  // Under table_mu_ (shared).
  AppInfo info;
  info.name = e.name;
  if (e.serving) {
    info.version = e.serving->number();
    info.digest = e.serving->digest();
    for (const auto& r : e.serving->handler().manifest().routes) info.routes.push_back(r.pattern);
  }
  info.hosts = e.hosts;
  info.state = e.state;
  info.last_error = e.last_error;
  info.requests = e.counters->requests.load();
  if (int64_t ms = e.counters->last_request_ms.load()) {
    info.last_request = std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
  }
  if (e.deployed_ms) info.deployed = std::chrono::system_clock::time_point(std::chrono::milliseconds(e.deployed_ms));
  return info;
}

std::vector<AppInfo> Registry::list() const {
  std::vector<AppInfo> out;
  {
    std::shared_lock lock(table_mu_);
    for (const auto& [name, e] : apps_) {
      if (!e->serving && e->state == "deploying") continue;  // a first deploy in progress
      out.push_back(info_of(*e));
    }
  }
  // Instances and memory from the lifecycle node (one pass).
  std::map<std::string, AppInfo*, std::less<>> by_name;
  for (auto& a : out) by_name[a.name] = &a;
  for (const auto& i : life_->instances()) {
    auto it = by_name.find(i.app);
    if (it == by_name.end()) continue;
    if (i.state == lifecycle::State::kStandby) ++it->second->standby;
    else if (i.state != lifecycle::State::kStopped) ++it->second->running;
    it->second->memory_bytes += i.memory_bytes;
  }
  return out;
}

Result<AppInfo> Registry::get(const std::string& app) const {
  AppInfo info;
  {
    std::shared_lock lock(table_mu_);
    auto it = apps_.find(app);
    if (it == apps_.end() || (!it->second->serving && it->second->state == "deploying")) {
      return make_error("no app \"" + app + "\"");
    }
    info = info_of(*it->second);
  }
  for (const auto& i : life_->instances()) {
    if (i.app != app) continue;
    if (i.state == lifecycle::State::kStandby) ++info.standby;
    else if (i.state != lifecycle::State::kStopped) ++info.running;
    info.memory_bytes += i.memory_bytes;
  }
  return info;
}

Result<std::vector<LogLine>> Registry::logs(const std::string& app, uint64_t after, size_t max,
                                            std::chrono::milliseconds wait) const {
  std::shared_ptr<LogRing> ring;
  {
    std::shared_lock lock(table_mu_);
    auto it = apps_.find(app);
    if (it == apps_.end()) return make_error("no app \"" + app + "\"");
    ring = it->second->logs;
  }
  return ring->read(after, max, wait);
}

Result<void> Registry::put_setting(const std::string& key, const std::string& json) {
  return catalog_->put_setting(key, json);
}

std::vector<std::pair<std::string, std::string>> Registry::settings() const { return catalog_->settings(); }

void Registry::on_switch(std::function<void(const std::string& app)> callback) {
  std::lock_guard lock(callbacks_mu_);
  on_switch_.push_back(std::move(callback));
}

std::unique_lock<std::shared_mutex> Registry::write_table() {
  std::unique_lock lock(table_mu_);
  // Before the change: a route reading the new generation then takes the
  // shared lock, so it sees the change whole.
  g_table_generation.fetch_add(1, std::memory_order_acq_rel);
  return lock;
}

std::shared_ptr<const Version> Registry::route(std::string_view host_header) const {
  // Most requests of a thread go where its last one went: the memo skips the
  // lock, the parse of the host and the lookups.
  RouteMemo& memo = t_route;
  if (memo.registry == this && memo.generation == g_table_generation.load(std::memory_order_acquire) &&
      memo.host_header == host_header) {
    if (std::shared_ptr<const Version> v = memo.version.lock()) return v;
  }
  const std::string host = host_of(host_header);
  std::shared_ptr<const Version> found;
  std::shared_lock lock(table_mu_);
  if (auto it = hosts_.find(host); it != hosts_.end()) {
    found = it->second->serving;
  } else if (!config_.default_app.empty()) {
    if (auto it = apps_.find(config_.default_app); it != apps_.end()) found = it->second->serving;
  }
  if (found) {
    memo.registry = this;
    memo.generation = g_table_generation.load(std::memory_order_relaxed);  // (stable under the shared lock)
    memo.host_header.assign(host_header);
    memo.version = found;
  }
  return found;
}

void Registry::handle(const http::Request& request, http::Response& response) const {
  std::shared_ptr<const Version> v = route(request.header("Host").value_or(std::string_view()));
  if (!v) return answer_unknown_host(response);
  v->handle(request, response);
}

void Registry::answer_unknown_host(http::Response& response) {
  response.status = 404;
  response.add_header("Content-Type", "text/plain; charset=utf-8");
  response.body = "no app at this host\n";
}

}  // namespace wink::node
