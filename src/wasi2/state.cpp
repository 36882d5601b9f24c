// The per-instance state: the resource table and the stdout/stderr log.
#include <time.h>
#include <unistd.h>

#include <algorithm>

#include "wasi2/internal.h"

namespace wink::wasi2 {

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::Error: return "error";
    case Kind::Pollable: return "pollable";
    case Kind::InputStream: return "input-stream";
    case Kind::OutputStream: return "output-stream";
    case Kind::Fields: return "fields";
    case Kind::IncomingRequest: return "incoming-request";
    case Kind::OutgoingRequest: return "outgoing-request";
    case Kind::RequestOptions: return "request-options";
    case Kind::ResponseOutparam: return "response-outparam";
    case Kind::IncomingResponse: return "incoming-response";
    case Kind::IncomingBody: return "incoming-body";
    case Kind::FutureTrailers: return "future-trailers";
    case Kind::OutgoingResponse: return "outgoing-response";
    case Kind::OutgoingBody: return "outgoing-body";
    case Kind::FutureIncomingResponse: return "future-incoming-response";
    case Kind::Descriptor: return "descriptor";
    case Kind::DirectoryEntryStream: return "directory-entry-stream";
    case Kind::Bucket: return "bucket";
    case Kind::Network: return "network";
  }
  return "resource";
}

Error guest_trap(std::string message) { return make_error("trap: " + message); }

uint64_t monotonic_now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000u + uint64_t(ts.tv_nsec);
}

Shared::~Shared() {
  for (int fd : preopen_fds) ::close(fd);
}

// ---- Resources ----

Resources::~Resources() {
  // No destructor here reaches another resource through the table, so the
  // order does not matter; newest first keeps children before parents mostly.
  for (auto it = slots_.rbegin(); it != slots_.rend(); ++it) it->reset();
}

Result<uint32_t> Resources::add(std::unique_ptr<Resource> r, uint32_t parent) {
  if (live_ >= max_live_) {
    return guest_trap("too many live host resources (limit " + std::to_string(max_live_) + " per instance)");
  }
  if (parent != 0) {
    Resource* p = find(parent);
    if (p == nullptr) return make_error("parent resource " + std::to_string(parent) + " is not live");
    p->children += 1;
    r->parent = parent;
  }
  uint32_t rep;
  if (!free_.empty()) {
    rep = free_.back();
    free_.pop_back();
    slots_[rep - 1] = std::move(r);
  } else {
    slots_.push_back(std::move(r));
    rep = static_cast<uint32_t>(slots_.size());
  }
  live_ += 1;
  return rep;
}

Result<void> Resources::add_at(uint32_t rep, std::unique_ptr<Resource> r) {
  if (rep == 0 || find(rep) != nullptr) return make_error("internal error: rep " + std::to_string(rep) + " is taken");
  if (live_ >= max_live_) {
    return make_error("too many live host resources (limit " + std::to_string(max_live_) + " per instance)");
  }
  while (slots_.size() < rep) {
    slots_.emplace_back();
    free_.push_back(static_cast<uint32_t>(slots_.size()));
  }
  free_.erase(std::remove(free_.begin(), free_.end(), rep), free_.end());
  slots_[rep - 1] = std::move(r);
  live_ += 1;
  return {};
}

std::vector<std::pair<uint32_t, const Resource*>> Resources::live_list() const {
  std::vector<std::pair<uint32_t, const Resource*>> out;
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i]) out.emplace_back(static_cast<uint32_t>(i + 1), slots_[i].get());
  }
  return out;
}

Resource* Resources::find(uint32_t rep) const {
  if (rep == 0 || rep > slots_.size()) return nullptr;
  return slots_[rep - 1].get();
}

Result<Resource*> Resources::get(uint32_t rep, Kind kind) {
  Resource* r = find(rep);
  if (r == nullptr || r->kind != kind) {
    return guest_trap(std::string(kind_name(kind)) + " " + std::to_string(rep) + " is not a live " + kind_name(kind));
  }
  return r;
}

Result<std::unique_ptr<Resource>> Resources::take(uint32_t rep, Kind kind) {
  WINK_ASSIGN_OR_RETURN(Resource * r, get(rep, kind));
  if (r->children > 0) {
    return guest_trap(std::string(kind_name(kind)) + " dropped while " + std::to_string(r->children) +
                      " child resource(s) of it (streams, headers, pollables) are alive");
  }
  if (r->parent != 0) {
    if (Resource* p = find(r->parent)) p->children -= 1;
  }
  std::unique_ptr<Resource> out = std::move(slots_[rep - 1]);
  free_.push_back(rep);
  live_ -= 1;
  return out;
}

Result<std::unique_ptr<Resource>> Resources::transfer(uint32_t rep, Kind kind) {
  WINK_ASSIGN_OR_RETURN(Resource * r, get(rep, kind));
  if (r->children > 0) {
    for (auto& slot : slots_) {
      if (slot && slot->parent == rep) slot->parent = 0;
    }
    r->children = 0;
  }
  return take(rep, kind);
}

// ---- State ----

State::State(std::shared_ptr<const Shared> shared)
    : shared_(std::move(shared)),
      resources_(std::make_unique<Resources>(shared_->config.limits.max_resources)),
      log_(shared_->config.log) {}

State::~State() {
  log_flush();
  resources_.reset();  // resources may still write (an unfinished body) before the log goes
}

void State::set_log(LogSink log) {
  log_ = std::move(log);
  logged_ = 0;
  truncated_ = false;
}

void State::set_environment(std::vector<std::string> args, std::vector<std::pair<std::string, std::string>> env) {
  args_ = std::move(args);
  env_ = std::move(env);
}

const std::vector<std::string>& State::arguments() const { return args_ ? *args_ : shared_->config.args; }

const std::vector<std::pair<std::string, std::string>>& State::environment() const {
  return env_ ? *env_ : shared_->config.env;
}

size_t State::live_resources() const { return resources_->live(); }

namespace {
// The stdio streams an instance held, by rep.
struct StdioStreams final : component::HostResourcesImage {
  std::vector<std::pair<uint32_t, Stdio>> streams;
  void save(ByteWriter& w) const override {
    w.u32(static_cast<uint32_t>(streams.size()));
    for (const auto& [rep, which] : streams) {
      w.u32(rep);
      w.u8(static_cast<uint8_t>(which));
    }
  }
};
}  // namespace

Result<std::shared_ptr<const component::HostResourcesImage>> read_stdio_streams(ByteReader& r, uint32_t max_live) {
  auto image = std::make_shared<StdioStreams>();
  const uint32_t n = r.u32();
  if (n == 0 || n > max_live || n > r.left() / 5) return make_error("host resources: bad count");
  for (uint32_t k = 0; k < n && !r.bad; ++k) {
    const uint32_t rep = r.u32();
    const uint8_t which = r.u8();
    // Reps are slots of a table of at most max_live live resources; a rep
    // past it would make restore_resources allocate that many slots.
    if (rep == 0 || rep > max_live || which < static_cast<uint8_t>(Stdio::kIn) ||
        which > static_cast<uint8_t>(Stdio::kErr)) {
      return make_error("host resources: bad stdio stream");
    }
    for (const auto& [seen, _] : image->streams) {
      if (seen == rep) return make_error("host resources: a rep twice");
    }
    image->streams.emplace_back(rep, static_cast<Stdio>(which));
  }
  if (r.bad) return make_error("host resources: truncated");
  return std::shared_ptr<const component::HostResourcesImage>(std::move(image));
}

Result<std::shared_ptr<const component::HostResourcesImage>> State::capture_resources() const {
  auto image = std::make_shared<StdioStreams>();
  for (const auto& [rep, r] : resources_->live_list()) {
    if (r->stdio == Stdio::kNone || r->parent != 0 || r->children != 0) {
      return make_error(std::string("a host resource is alive in the instance (") + kind_name(r->kind) + " " +
                        std::to_string(rep) + (r->children ? ", with a pollable or stream of it alive" : "") + ")");
    }
    image->streams.emplace_back(rep, r->stdio);
  }
  if (image->streams.empty()) return std::shared_ptr<const component::HostResourcesImage>();
  return std::shared_ptr<const component::HostResourcesImage>(std::move(image));
}

Result<void> State::restore_resources(const component::HostResourcesImage& image) {
  const auto* stdio = dynamic_cast<const StdioStreams*>(&image);
  if (stdio == nullptr) return make_error("internal error: another host's resources image");
  for (const auto& [rep, which] : stdio->streams) WINK_TRY(resources_->add_at(rep, make_stdio_stream(*this, which)));
  return {};
}

void State::log_write(std::string_view stream, std::string_view bytes) {
  if (truncated_) return;
  uint64_t cap = shared_->config.limits.max_log_bytes;
  bool over = logged_ + bytes.size() > cap;
  if (over) bytes = bytes.substr(0, cap - logged_);
  logged_ += bytes.size();
  std::string& pending = pending_[stream == "stderr" ? 1 : 0];
  pending.append(bytes);
  size_t start = 0;
  for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
    emit(stream, std::string_view(pending).substr(start, nl - start));
  }
  pending.erase(0, start);
  if (over) {
    log_flush();
    truncated_ = true;
    if (log_) log_(stream, "[truncated: guest output past " + std::to_string(cap) + " bytes dropped]");
  }
}

// Secret values (wink variables marked secret) never reach the log.
void State::emit(std::string_view stream, std::string_view line) {
  if (!log_) return;
  const host::Prepared* host = shared_->config.host.get();
  if (host == nullptr) {
    log_(stream, line);
    return;
  }
  std::string text(line);
  host->redact(text);
  log_(stream, text);
}

void State::log_flush() {
  const char* names[2] = {"stdout", "stderr"};
  for (int i = 0; i < 2; ++i) {
    if (!pending_[i].empty()) emit(names[i], pending_[i]);
    pending_[i].clear();
  }
}

}  // namespace wink::wasi2
