// Import resolution: one table of (interface, item, signature pattern,
// function) built once; every import is looked up and its type checked when
// the component is linked, so a call costs no lookup. Interfaces wink
// refuses by design (wasi:sockets, mutating wasi:filesystem calls) answer
// with their own error code, derived from the declared type.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "wasi2/internal.h"
#include "wasi2/signature.h"

namespace wink::wasi2 {
namespace {

using component::ExternName;
using component::FuncType;
using component::HostFunction;
using component::ValKind;

const Registry& registry() {
  static const Registry r = [] {
    Registry out;
    add_io(out);
    add_cli(out);
    add_http(out);
    add_filesystem(out);
    add_keyvalue(out);
    return out;
  }();
  return r;
}

std::string where(const ExternName& iface, const std::string& item) { return iface.text + "#" + item; }

// An error-code-returning function wink refuses: err(first label found).
Result<HostFunction> refusal(const ExternName& iface, const std::string& item, const FuncType& type,
                             std::initializer_list<const char*> labels) {
  const component::ValType* r = type.result.get();
  if (r && r->kind == ValKind::Result && r->cases.size() == 2 && r->cases[1].type) {
    const component::ValType& e = *r->cases[1].type;
    for (const char* want : labels) {
      for (size_t i = 0; i < e.cases.size(); ++i) {
        if (e.cases[i].label == want && !e.cases[i].type) {
          Value v = Value::err(Value::variant(static_cast<uint32_t>(i)));
          return HostFunction([v](HostCall&, std::vector<Value>&) -> Result<std::vector<Value>> { return one(v); });
        }
      }
    }
  }
  if (iface.unversioned() == "wasi:sockets/instance-network" && item == "instance-network" && r &&
      r->kind == ValKind::Own) {
    return HostFunction([](HostCall& c, std::vector<Value>&) -> Result<std::vector<Value>> {
      struct Network : Resource {
        Network() : Resource(Kind::Network) {}
      };
      WINK_ASSIGN_OR_RETURN(uint32_t rep, state_of(c).resources().add(std::make_unique<Network>()));
      return one(Value::handle(rep));
    });
  }
  // Methods of resources that can never be created here (sockets, ...).
  std::string name = where(iface, item);
  return HostFunction([name](HostCall&, std::vector<Value>&) -> Result<std::vector<Value>> {
    return guest_trap(name + " is not supported by wink");
  });
}

// By name: a resource keeps its name when other interfaces `use` it
// (wasi:http/types re-exports input-stream, pollable, ...), and WASI's
// resource names are unique; `headers`/`trailers` and `io-error` are the
// aliases wasi:http gives fields and error.
Kind resource_kind(const std::string& name, bool* known) {
  struct Entry { const char* name; Kind kind; };
  static constexpr Entry kResources[] = {
      {"error", Kind::Error}, {"io-error", Kind::Error}, {"pollable", Kind::Pollable},
      {"input-stream", Kind::InputStream}, {"output-stream", Kind::OutputStream},
      {"fields", Kind::Fields}, {"headers", Kind::Fields}, {"trailers", Kind::Fields},
      {"incoming-request", Kind::IncomingRequest}, {"outgoing-request", Kind::OutgoingRequest},
      {"request-options", Kind::RequestOptions}, {"response-outparam", Kind::ResponseOutparam},
      {"incoming-response", Kind::IncomingResponse}, {"incoming-body", Kind::IncomingBody},
      {"future-trailers", Kind::FutureTrailers}, {"outgoing-response", Kind::OutgoingResponse},
      {"outgoing-body", Kind::OutgoingBody}, {"future-incoming-response", Kind::FutureIncomingResponse},
      {"descriptor", Kind::Descriptor}, {"directory-entry-stream", Kind::DirectoryEntryStream},
      {"bucket", Kind::Bucket}, {"network", Kind::Network},
  };
  for (const Entry& e : kResources) {
    if (name == e.name) {
      *known = true;
      return e.kind;
    }
  }
  *known = false;
  return Kind::Error;
}

bool version_supported(const ExternName& iface) { return iface.version.rfind("0.2.", 0) == 0; }

}  // namespace

Result<std::unique_ptr<Provider>> Provider::create(Config config) {
  auto shared = std::make_shared<Shared>();
  for (const wasi::Preopen& p : config.preopens) {
    int fd = ::open(p.host_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return make_error("preopen " + p.host_path.string() + ": " + std::strerror(errno));
    shared->preopen_fds.push_back(fd);
  }
  shared->config = std::move(config);
  return std::unique_ptr<Provider>(new Provider(std::move(shared)));
}

Provider::~Provider() = default;

Result<HostFunction> Provider::function(const ExternName& iface, const std::string& item, const FuncType& type) {
  if (!iface.is_interface()) {
    return make_error("top-level function import '" + iface.text + "' is not provided by wink's WASI 0.2 host");
  }
  if (!version_supported(iface)) {
    return make_error(iface.text + ": version " + iface.version + " is not supported (wink implements WASI 0.2.x)");
  }
  std::string unversioned = iface.unversioned();
  for (const HostImpl& h : registry()) {
    if (unversioned != h.iface || item != h.item) continue;
    if (auto ok = check_signature(type, h.pattern); !ok) {
      return std::move(ok).error().with_context(where(iface, item));
    }
    return h.fn;
  }
  if (unversioned.rfind("wasi:sockets/", 0) == 0) {
    return refusal(iface, item, type, {"access-denied", "not-supported"});
  }
  if (unversioned == "wasi:filesystem/types") return refusal(iface, item, type, {"read-only", "unsupported"});
  return make_error(where(iface, item) + " is not provided by wink's WASI 0.2 host");
}

Result<component::HostResourceDrop> Provider::resource(const ExternName& iface, const std::string& name) {
  if (!iface.is_interface() || !version_supported(iface)) {
    return make_error("resource " + iface.text + "#" + name + " is not provided by wink's WASI 0.2 host");
  }
  bool known = false;
  std::string unversioned = iface.unversioned();
  Kind kind = resource_kind(name, &known);
  if (iface.ns != "wasi") known = false;
  if (!known) {
    // Resources of refused interfaces: no instance of them is ever made.
    bool refused = unversioned.rfind("wasi:sockets/", 0) == 0 || unversioned.rfind("wasi:cli/terminal-", 0) == 0;
    if (!refused) return make_error("resource " + where(iface, name) + " is not provided by wink's WASI 0.2 host");
    std::string what = where(iface, name);
    return component::HostResourceDrop([what](component::HostState&, uint32_t rep) -> Result<void> {
      return guest_trap(what + " " + std::to_string(rep) + " was never created by this host");
    });
  }
  return component::HostResourceDrop([kind](component::HostState& s, uint32_t rep) -> Result<void> {
    WINK_ASSIGN_OR_RETURN(auto gone, static_cast<State&>(s).resources().take(rep, kind));
    return {};
  });
}

std::unique_ptr<State> Provider::make_state() { return std::make_unique<State>(shared_); }
std::unique_ptr<component::HostState> Provider::create_state() { return make_state(); }

Result<std::shared_ptr<const component::HostResourcesImage>> Provider::read_resources(ByteReader& r) const {
  return read_stdio_streams(r, shared_->config.limits.max_resources);
}

std::vector<std::string> Provider::interfaces() {
  std::vector<std::string> out;
  for (const HostImpl& h : registry()) {
    if (out.empty() || out.back() != h.iface) out.emplace_back(h.iface);
  }
  return out;
}

}  // namespace wink::wasi2
