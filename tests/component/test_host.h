// A small HostProvider for linker tests, with real behaviour: output
// streams collect what the guest writes, `log` functions record their
// strings, resources hand out reps and record drops. WASI functions it does
// not implement trap when called (with their name); interfaces outside
// wasi:cli/io/clocks/filesystem and test:host are refused at load, as the
// real host refuses what it does not provide.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "component/host.h"

namespace wink::component::testing {

struct TestState : HostState {
  std::map<uint32_t, std::string> streams;  // output-stream rep -> bytes written
  std::vector<std::string> logs;
  std::vector<uint32_t> dropped;            // reps of host resources the guest dropped
  uint32_t next_rep = 42;
};

class TestHost : public HostProvider {
 public:
  // Names asked for, "iface item", for tests that check what was resolved.
  std::vector<std::string> asked;

  Result<HostFunction> function(const ExternName& iface, const std::string& item, const FuncType& type) override {
    asked.push_back(iface.text + " " + item);
    std::string i = iface.unversioned();
    if (iface.text == "log" || (i == "test:host/log" && item == "log")) {
      return HostFunction([](HostCall& call, std::vector<Value>& args) -> Result<std::vector<Value>> {
        if (args.at(0).str == "fail") return make_error("the host refuses to log \"fail\"");
        state(call).logs.push_back(args.at(0).str);
        return std::vector<Value>{};
      });
    }
    if (i == "test:host/files" && item == "open") {
      return HostFunction([](HostCall& call, std::vector<Value>&) -> Result<std::vector<Value>> {
        return std::vector<Value>{Value::handle(state(call).next_rep++)};
      });
    }
    if (i == "wasi:cli/stdout" && item == "get-stdout") return constant(Value::handle(1));
    if (i == "wasi:cli/stderr" && item == "get-stderr") return constant(Value::handle(2));
    if (i == "wasi:cli/stdin" && item == "get-stdin") return constant(Value::handle(0));
    if (i == "wasi:filesystem/preopens" && item == "get-directories") return constant(Value::list({}));
    if (i == "wasi:cli/environment" && (item == "get-environment" || item == "get-arguments"))
      return constant(Value::list({}));
    if (i.rfind("wasi:cli/terminal-", 0) == 0 && item.rfind("get-terminal-", 0) == 0) return constant(Value::none());
    if (i == "wasi:io/streams") {
      if (item == "[method]output-stream.blocking-write-and-flush" || item == "[method]output-stream.write") {
        return HostFunction([](HostCall& call, std::vector<Value>& args) -> Result<std::vector<Value>> {
          std::string& out = state(call).streams[static_cast<uint32_t>(args.at(0).bits)];
          out += args.at(1).str;  // list<u8> arrives as raw bytes (abi.h fast path)
          return std::vector<Value>{Value::ok()};
        });
      }
      if (item == "[method]output-stream.check-write") return constant(Value::ok(Value::u(65536)));
      if (item == "[method]output-stream.blocking-flush" || item == "[method]output-stream.flush")
        return constant(Value::ok());
    }
    static const char* const kKnown[] = {"wasi:cli/", "wasi:io/", "wasi:clocks/", "wasi:filesystem/", "test:host/"};
    for (const char* k : kKnown) {
      if (i.rfind(k, 0) == 0) {
        std::string name = iface.text + " " + item;
        return HostFunction([name](HostCall&, std::vector<Value>&) -> Result<std::vector<Value>> {
          return make_error("trap: " + name + " is not implemented by the test host");
        });
      }
    }
    (void)type;
    return make_error("the test host does not provide " + i);
  }

  Result<HostResourceDrop> resource(const ExternName& iface, const std::string& name) override {
    return HostResourceDrop([](HostState& s, uint32_t rep) -> Result<void> {
      static_cast<TestState&>(s).dropped.push_back(rep);
      return {};
    });
  }

  std::unique_ptr<HostState> create_state() override { return std::make_unique<TestState>(); }

  static TestState& state(HostCall& call) { return static_cast<TestState&>(call.state); }

 private:
  static HostFunction constant(Value v) {
    return [v](HostCall&, std::vector<Value>&) -> Result<std::vector<Value>> { return std::vector<Value>{v}; };
  }
};

}  // namespace wink::component::testing
