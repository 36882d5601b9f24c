// The contract between a component's imports and the host that satisfies
// them. The linker resolves each import of a component either to an export
// of another instance in the same component graph or to a function of a
// HostProvider (the WASI 0.2 host in src/wasi2 is one). Resolution happens
// once per loaded component; each instance then gets its own HostState.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/byte_io.h"
#include "common/result.h"
#include "component/handles.h"
#include "component/model.h"
#include "component/types.h"
#include "component/value.h"

namespace wink::component {

// What a HostState keeps of its live resources in a component instance
// image: made by HostState::capture_resources, taken by restore_resources of
// another state of the same provider. Opaque to the linker.
class HostResourcesImage {
 public:
  virtual ~HostResourcesImage() = default;
  // As bytes, for an image written to a file (HostProvider::read_resources reads them back).
  virtual void save(ByteWriter& w) const = 0;
};

// Per-instance host state (the streams, pollables and request of one
// instance): made by the provider for each component instance and destroyed
// with it. Providers derive from it and cast back in their functions.
class HostState {
 public:
  virtual ~HostState() = default;
  // Host resources alive for this instance.
  virtual size_t live_resources() const { return 0; }
  // The live resources as another state can remake them, each at the same
  // rep (guest memory names them by rep): only resources with nothing of
  // this instance in them qualify (a stdio stream does, a request does not).
  // Null when none is live; an error naming the first that cannot be
  // carried over refuses the image (linker::capture_image).
  virtual Result<std::shared_ptr<const HostResourcesImage>> capture_resources() const {
    if (size_t n = live_resources())
      return make_error(std::to_string(n) + " host resource(s) are alive in the instance");
    return std::shared_ptr<const HostResourcesImage>();
  }
  // Remakes what capture_resources saved, in this fresh state.
  virtual Result<void> restore_resources(const HostResourcesImage&) {
    return make_error("internal error: this host cannot restore resources");
  }
};

// What a host function sees of one call.
struct HostCall {
  HostState& state;          // the provider's state for the calling instance
  InstanceState& instance;   // the caller's handle tables (the ABI moves handles)
};

// A host function, called with its arguments lifted per the FuncType the
// component declared for the import, returning results the ABI lowers back.
// Handles of host resources cross as their rep (Value::handle): the host
// picks reps for what it creates and gets them back in borrow/own params.
// Errors trap the guest with the message (guest-visible failures go in the
// function's result type, as the WIT says); the message should start with
// "trap: " when it is the guest's fault.
using HostFunction = std::function<Result<std::vector<Value>>(HostCall& call, std::vector<Value>& args)>;

// Runs when the guest drops an owned handle of a host resource (canon
// resource.drop of an imported resource type), with the rep. An error traps
// the guest (the WIT makes some drops traps, e.g. a parent resource dropped
// while a child of it lives).
using HostResourceDrop = std::function<Result<void>(HostState& state, uint32_t rep)>;

class HostProvider {
 public:
  virtual ~HostProvider() = default;

  // `iface` is the instance import the item comes from, e.g.
  // "wasi:io/streams@0.2.3" (any 0.2.x minor may be asked for), or the plain
  // name of a top-level function import with `item` empty. `item` is the
  // export name inside the instance ("[method]output-stream.write"), `type`
  // the function type as the component declares it. An error names what is
  // not supported; the linker refuses the component with it.
  virtual Result<HostFunction> function(const ExternName& iface, const std::string& item, const FuncType& type) = 0;
  // A resource type the component imports from `iface` ("output-stream").
  virtual Result<HostResourceDrop> resource(const ExternName& iface, const std::string& name) = 0;
  // State for one new instance.
  virtual std::unique_ptr<HostState> create_state() = 0;
  // Reads what HostResourcesImage::save wrote (an image file: hostile
  // bytes, every value checked). A host without resources to carry refuses.
  virtual Result<std::shared_ptr<const HostResourcesImage>> read_resources(ByteReader&) const {
    return make_error("this host keeps no resources in an image");
  }
};

}  // namespace wink::component
