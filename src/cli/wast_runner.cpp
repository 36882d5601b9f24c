#include "cli/wast_runner.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cli/wast_link.h"
#include "common/files.h"
#include "engine/engine.h"

extern char** environ;

namespace wink::cli::wast {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A scratch directory for wast2json's output, removed when done.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "wink-wast-XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Runs a wabt tool; its stderr is kept in `err_file`. Returns the exit status
// (127 when the tool cannot be started).
int run_tool(const std::vector<std::string>& argv, const fs::path& err_file) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return 127;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Proposals wink's front end refuses (wabt 1.0.32's C writer cannot translate
// them), recognised by wabt's message; such a module's commands are skipped.
std::string unsupported_proposal(const std::string& error) {
  if (error.find("v128") != std::string::npos || error.find("simd") != std::string::npos ||
      error.find("0xfd") != std::string::npos || error.find("(got -0x5)") != std::string::npos ||  // -0x5: v128
      error.find("global type: 0xfffffffb") != std::string::npos)
    return "SIMD (wasm2c 1.0.32 cannot translate v128)";
  if (error.find("expected ref.null or ref.func in passive element segment") != std::string::npos)
    return "global.get in element segment expressions (wabt 1.0.32 reads only ref.null and ref.func)";
  if (error.find("writes them into C comments unescaped") != std::string::npos)
    return "names holding \"*/\" or a line break (wasm2c 1.0.32 copies names into C comments)";
  if (error.find("expected valid block signature type") != std::string::npos)
    return "SIMD (wasm2c 1.0.32 cannot translate v128)";  // a v128 block type
  if (error.find("twice with different types") != std::string::npos)
    return "one name imported with two types (wasm2c 1.0.32 gives both one C symbol)";
  return {};
}

// Expected results and arguments.
struct WastValue {
  char type = 'i';  // artifact_abi.h notation
  uint64_t bits = 0;
  enum { kExact, kCanonicalNan, kArithmeticNan, kAnyRef } match = kExact;
};

// Reason to skip, or empty; fills `out`.
std::string parse_value(const json& v, WastValue& out) {
  std::string type = v.value("type", "");
  if (type == "v128") return "SIMD (wasm2c 1.0.32 cannot translate v128)";
  if (type == "i32") out.type = 'i';
  else if (type == "i64") out.type = 'I';
  else if (type == "f32") out.type = 'f';
  else if (type == "f64") out.type = 'F';
  else if (type == "externref") out.type = 'e';
  else if (type == "funcref") out.type = 'r';  // an opaque identity, 0 for null (artifact_abi.h)
  else return "value type " + type + " (not in Wasm 2.0)";
  if (!v.contains("value")) {
    out.match = WastValue::kAnyRef;
    return {};
  }
  std::string text = v["value"].get<std::string>();
  if (text == "nan:canonical") out.match = WastValue::kCanonicalNan;
  else if (text == "nan:arithmetic") out.match = WastValue::kArithmeticNan;
  else if (text == "null") out.bits = 0;
  else if (out.type == 'e') out.bits = std::stoull(text) + 1;  // extern N is the host pointer N+1; null is 0
  else if (out.type == 'r') out.match = WastValue::kAnyRef;  // wast2json 1.0.32 writes `(ref.func)` as an index
  else out.bits = std::stoull(text);
  return {};
}

bool matches(const WastValue& want, const engine::Value& got) {
  if (want.type != got.type) return false;
  uint64_t b = got.bits;
  bool f32 = want.type == 'f';
  switch (want.match) {
    case WastValue::kCanonicalNan:
      return f32 ? (b & 0x7fffffffu) == 0x7fc00000u : (b & ~(1ull << 63)) == 0x7ff8000000000000ull;
    case WastValue::kArithmeticNan:
      return f32 ? (b & 0x7fc00000u) == 0x7fc00000u : (b & 0x7ff8000000000000ull) == 0x7ff8000000000000ull;
    case WastValue::kAnyRef: return b != 0;
    default: return want.type == 'i' || want.type == 'f' ? (b & 0xffffffffu) == want.bits : b == want.bits;
  }
}

std::string show(char type, uint64_t bits) {
  char buf[64];
  switch (type) {
    case 'i': std::snprintf(buf, sizeof buf, "i32:0x%08x", static_cast<uint32_t>(bits)); break;
    case 'I': std::snprintf(buf, sizeof buf, "i64:0x%016llx", static_cast<unsigned long long>(bits)); break;
    case 'f': std::snprintf(buf, sizeof buf, "f32:0x%08x", static_cast<uint32_t>(bits)); break;
    case 'F': std::snprintf(buf, sizeof buf, "f64:0x%016llx", static_cast<unsigned long long>(bits)); break;
    default: std::snprintf(buf, sizeof buf, "ref:%llu", static_cast<unsigned long long>(bits)); break;
  }
  return buf;
}

std::string show(const WastValue& v) {
  if (v.match == WastValue::kCanonicalNan) return std::string(v.type == 'f' ? "f32" : "f64") + ":nan:canonical";
  if (v.match == WastValue::kArithmeticNan) return std::string(v.type == 'f' ? "f32" : "f64") + ":nan:arithmetic";
  if (v.match == WastValue::kAnyRef) return "ref:non-null";
  return show(v.type, v.bits);
}

// The trap the spec's message names; kNone when any trap will do.
runtime::Trap expected_trap(const std::string& text) {
  using runtime::Trap;
  if (text.find("divide by zero") != std::string::npos) return Trap::kDivideByZero;
  if (text.find("integer overflow") != std::string::npos) return Trap::kIntegerOverflow;
  if (text.find("invalid conversion") != std::string::npos) return Trap::kInvalidConversion;
  if (text.find("unreachable") != std::string::npos) return Trap::kUnreachable;
  if (text.find("indirect call") != std::string::npos || text.find("undefined element") != std::string::npos ||
      text.find("uninitialized element") != std::string::npos)
    return Trap::kIndirectCall;
  if (text.find("out of bounds") != std::string::npos) return Trap::kOutOfBounds;
  return Trap::kNone;
}

// A compiled module of the script (compiled for linking: its imports are
// described in its artifact, bound per instance).
struct Compiled {
  std::shared_ptr<engine::Module> module;
  std::string error;  // compile error (module not usable)
};

// A live instance with what it needs kept alive.
struct Live {
  std::shared_ptr<engine::Module> module;
  std::vector<wink_link_slot_t> links;  // its link table: unchanged while it lives
  std::unique_ptr<engine::Instance> instance;
  std::unique_ptr<InstanceExports> exports;
};

class Script {
 public:
  Script(const fs::path& wast, const fs::path& dir, const RunnerOptions& options, FileResult& result)
      : wast_(wast), dir_(dir), options_(options), result_(result) {}

  ~Script() {
    // Instances go first, newest first (an instance may hold another's
    // functions in its tables), then the artifacts.
    while (!lives_.empty()) {
      lives_.back()->instance.reset();
      lives_.pop_back();
    }
  }

  void run(const json& commands) {
    auto spectest = Spectest::create();
    if (!spectest.ok()) {
      result_.error = spectest.error().message;
      return;
    }
    spectest_ = std::move(*spectest);
    registry_["spectest"] = spectest_.get();
    compile_all(commands);
    for (const json& cmd : commands) {
      line_ = cmd.value("line", 0);
      command(cmd);
    }
  }

 private:
  void pass() { ++result_.passed; }
  void fail(const std::string& why) {
    ++result_.failed;
    result_.failures.push_back(wast_.filename().string() + ":" + std::to_string(line_) + ": " + why);
  }
  void skip(const std::string& reason) {
    ++result_.skipped;
    ++result_.skip_reasons[reason];
  }

  // All of the script's modules compiled up front, `jobs` at a time: the
  // C compiler dominates a run, and a file's modules are independent.
  void compile_all(const json& commands) {
    std::vector<std::string> names;
    for (const json& cmd : commands) {
      std::string type = cmd.value("type", "");
      if ((type == "module" || type == "assert_unlinkable" || type == "assert_uninstantiable") &&
          cmd.value("module_type", "binary") == "binary" && cmd.contains("filename"))
        names.push_back(cmd["filename"].get<std::string>());
    }
    engine::EngineConfig config;
    config.data_dir = options_.data_dir;
    config.compile.opt_level = options_.opt_level;
    config.compile.jobs = 1;
    engine::Engine engine(config);
    std::vector<Compiled> out(names.size());
    std::atomic<size_t> next{0};
    auto worker = [&] {
      for (size_t i; (i = next++) < names.size();) compile_one(engine, dir_ / names[i], out[i]);
    };
    std::vector<std::thread> threads;
    for (unsigned k = 1; k < std::max(1u, options_.jobs); ++k) threads.emplace_back(worker);
    worker();
    for (auto& t : threads) t.join();
    for (size_t i = 0; i < names.size(); ++i) compiled_[names[i]] = std::move(out[i]);
  }

  static void compile_one(engine::Engine& engine, const fs::path& file, Compiled& out) {
    auto bytes = read_file(file);
    if (!bytes.ok()) {
      out.error = bytes.error().message;
      return;
    }
    auto module = engine.load_linked(*bytes);
    if (!module.ok()) {
      out.error = module.error().message;
      return;
    }
    out.module = std::move(*module);
  }

  // Instantiates a compiled module; the error is a link or instantiation failure.
  Result<std::unique_ptr<Live>> instantiate(const Compiled& c, bool* link_error) {
    *link_error = false;
    auto live = std::make_unique<Live>();
    live->module = c.module;
    auto links = link_imports(c.module->abi(), registry_);
    if (!links.ok()) {
      *link_error = true;
      return std::move(links).error();
    }
    live->links = std::move(*links);
    engine::InstanceLimits limits;
    limits.max_memory_pages = runtime::kMaxMemoryPages;
    WINK_ASSIGN_OR_RETURN(live->instance, engine::Instance::create_linked(c.module, live->links, limits));
    live->exports = std::make_unique<InstanceExports>(*live->instance);
    return live;
  }

  void command(const json& cmd) {
    std::string type = cmd.value("type", "");
    if (type == "module") return module_command(cmd);
    if (type == "register") return register_command(cmd);
    if (type == "action") return action_command(cmd, false);
    if (type == "assert_return") return action_command(cmd, true);
    if (type == "assert_trap" || type == "assert_exhaustion") return trap_command(cmd, type == "assert_exhaustion");
    if (type == "assert_invalid" || type == "assert_malformed") return invalid_command(cmd, type);
    if (type == "assert_unlinkable" || type == "assert_uninstantiable") return instantiate_command(cmd, type);
    skip("command " + type + " (not in Wasm 2.0)");
  }

  // The module a command names (or the current one); `why` says why not.
  Live* target(const json& action, std::string& skip_reason, std::string& failure) {
    std::string name = action.value("module", "");
    if (name.empty()) {
      if (current_ == nullptr) (current_skip_.empty() ? failure : skip_reason) =
                                   current_skip_.empty() ? current_error_ : current_skip_;
      return current_;
    }
    auto it = named_.find(name);
    if (it != named_.end()) return it->second;
    auto s = named_skip_.find(name);
    if (s != named_skip_.end()) skip_reason = s->second;
    else failure = "module " + name + " is not loaded";
    return nullptr;
  }

  void module_command(const json& cmd) {
    std::string name = cmd.value("name", "");
    current_ = nullptr;
    current_skip_.clear();
    current_error_ = "the module at line " + std::to_string(line_) + " did not load";
    auto note_skip = [&](const std::string& reason) {
      current_skip_ = reason;
      if (!name.empty()) named_skip_[name] = reason, named_.erase(name);
      skip(reason);
    };
    if (cmd.value("module_type", "binary") != "binary") return note_skip("text module (not produced by wast2json)");
    const Compiled& c = compiled_[cmd.value("filename", "")];
    if (!c.error.empty()) {
      std::string reason = unsupported_proposal(c.error);
      if (!reason.empty()) return note_skip(reason);
      if (!name.empty()) named_.erase(name);
      return fail("module did not compile: " + c.error);
    }
    bool link_error = false;
    auto live = instantiate(c, &link_error);
    if (!live.ok()) {
      if (!name.empty()) named_.erase(name);
      return fail("module did not instantiate: " + live.error().message);
    }
    current_ = live->get();
    if (!name.empty()) named_[name] = current_, named_skip_.erase(name);
    lives_.push_back(std::move(*live));
    pass();
  }

  void register_command(const json& cmd) {
    std::string as = cmd.value("as", "");
    std::string skip_reason, failure;
    Live* live = target(json{{"module", cmd.value("name", "")}}, skip_reason, failure);
    if (live == nullptr) {
      // A module that was skipped registers nothing; importers of it skip too.
      if (!skip_reason.empty()) return skip(skip_reason);
      return fail("register: " + failure);
    }
    registry_[as] = live->exports.get();
    pass();
  }

  // Runs an action; false with `skip_reason` or a failure recorded when it could not run.
  struct ActionResult {
    bool ran = false;
    runtime::Outcome outcome;
    std::vector<engine::Value> values;
    std::string error;  // trap text or invoke error
  };

  ActionResult perform(const json& action, std::string& skip_reason, std::string& failure) {
    ActionResult r;
    Live* live = target(action, skip_reason, failure);
    if (live == nullptr) return r;
    std::string field = action.value("field", "");
    std::string type = action.value("type", "");
    if (type == "get") {
      const wink_export_t* x = live->module->find_export(field);
      if (x == nullptr || x->kind != WINK_EXTERN_GLOBAL) {
        failure = "no exported global " + field;
        return r;
      }
      void* p = x->get(live->instance->raw());
      engine::Value v{x->params[0], 0};
      if (v.type == 'i' || v.type == 'f') v.bits = *static_cast<const uint32_t*>(p);
      else if (v.type == 'e') v.bits = reinterpret_cast<uintptr_t>(*static_cast<void* const*>(p));
      else if (v.type == 'r') v.bits = wink_funcref_identity(static_cast<const wasm_rt_funcref_t*>(p));
      else v.bits = *static_cast<const uint64_t*>(p);
      r.ran = true;
      r.values.push_back(v);
      return r;
    }
    if (type != "invoke") {
      skip_reason = "action " + type;
      return r;
    }
    std::vector<engine::Value> args;
    for (const json& a : action.value("args", json::array())) {
      WastValue v;
      skip_reason = parse_value(a, v);
      if (!skip_reason.empty()) return r;
      if (v.type == 'r' && v.match == WastValue::kAnyRef) {
        skip_reason = "a funcref other than null from the host (only null goes into an export)";
        return r;
      }
      args.push_back({v.type, v.bits});
    }
    auto values = live->instance->invoke(field, args, &r.outcome);
    r.ran = true;
    if (values.ok()) r.values = std::move(*values);
    else r.error = values.error().message;
    return r;
  }

  void action_command(const json& cmd, bool check) {
    std::vector<WastValue> expected;
    for (const json& e : cmd.value("expected", json::array())) {
      WastValue v;
      std::string reason = parse_value(e, v);
      if (!reason.empty()) return skip(reason);
      expected.push_back(v);
    }
    std::string skip_reason, failure;
    std::string field = cmd["action"].value("field", "");
    ActionResult r = perform(cmd["action"], skip_reason, failure);
    if (!skip_reason.empty()) return skip(skip_reason);
    if (!r.ran) return fail(field + ": " + failure);
    if (!r.error.empty()) return fail(field + ": " + r.error);
    if (!check) return pass();
    bool ok = r.values.size() == expected.size();
    for (size_t i = 0; ok && i < expected.size(); ++i) ok = matches(expected[i], r.values[i]);
    if (ok) return pass();
    std::string want, got;
    for (const auto& e : expected) want += " " + show(e);
    for (const auto& v : r.values) got += " " + show(v.type, v.bits);
    fail("assert_return " + field + ": expected" + want + ", got" + got);
  }

  void trap_command(const json& cmd, bool exhaustion) {
    std::string skip_reason, failure;
    std::string field = cmd["action"].value("field", "");
    std::string text = cmd.value("text", "");
    ActionResult r = perform(cmd["action"], skip_reason, failure);
    if (!skip_reason.empty()) return skip(skip_reason);
    if (!r.ran) return fail(field + ": " + failure);
    runtime::Trap want = exhaustion ? runtime::Trap::kStackExhausted : expected_trap(text);
    if (r.outcome.ok()) {
      if (!r.error.empty()) return fail(field + ": " + r.error);
      return fail(field + ": expected the trap \"" + text + "\", it returned");
    }
    if (want != runtime::Trap::kNone && r.outcome.trap != want)
      return fail(field + ": expected the trap \"" + text + "\", got \"" + runtime::trap_message(r.outcome.trap) +
                  "\"");
    pass();
  }

  void invalid_command(const json& cmd, const std::string& type) {
    std::string file = cmd.value("filename", "");
    std::string text = cmd.value("text", "");
    if (cmd.value("module_type", "binary") == "text") {
      // wink takes binary modules only; the text form is wabt's parser's to refuse.
      int rc = run_tool({"wat2wasm", (dir_ / file).string(), "-o", "/dev/null"}, dir_ / "wat2wasm.err");
      if (rc == 127) return fail(type + ": cannot run wat2wasm (wabt)");
      if (rc != 0) return pass();
      return fail(type + " (" + text + "): wat2wasm accepted the text module");
    }
    auto bytes = read_file(dir_ / file);
    if (!bytes.ok()) return fail(bytes.error().message);
    compiler::Options options;
    options.link_imports = true;
    auto checked = compiler::check_module(*bytes, options);
    if (checked.ok()) return fail(type + " (" + text + "): wink accepted the module");
    std::string reason = unsupported_proposal(checked.error().message);
    if (!reason.empty()) return skip(reason);
    pass();
  }

  void instantiate_command(const json& cmd, const std::string& type) {
    std::string text = cmd.value("text", "");
    const Compiled& c = compiled_[cmd.value("filename", "")];
    if (!c.error.empty()) {
      std::string reason = unsupported_proposal(c.error);
      if (!reason.empty()) return skip(reason);
      return fail(type + ": module did not compile: " + c.error);
    }
    bool link_error = false;
    auto live = instantiate(c, &link_error);
    if (live.ok()) {
      // Keep it: its start function may have run and it may own tables
      // other instances now point into.
      lives_.push_back(std::move(*live));
      return fail(type + " (" + text + "): the module instantiated");
    }
    bool want_link_error = type == "assert_unlinkable";
    if (link_error != want_link_error)
      return fail(type + " (" + text + "): failed the wrong way: " + live.error().message);
    pass();
  }

  fs::path wast_, dir_;
  const RunnerOptions& options_;
  FileResult& result_;
  int line_ = 0;
  std::unique_ptr<Spectest> spectest_;
  Registry registry_;
  std::map<std::string, Compiled> compiled_;
  std::vector<std::unique_ptr<Live>> lives_;
  Live* current_ = nullptr;
  std::string current_skip_, current_error_ = "no module loaded";
  std::map<std::string, Live*> named_;
  std::map<std::string, std::string> named_skip_;
};

}  // namespace

FileResult run_script(const fs::path& wast, const RunnerOptions& options) {
  FileResult result;
  ScratchDir dir;
  if (dir.path().empty()) {
    result.error = "cannot create a temporary directory";
    return result;
  }
  fs::path json_file = dir.path() / "script.json";
  int rc = run_tool({"wast2json", wast.string(), "-o", json_file.string()}, dir.path() / "wast2json.err");
  if (rc == 127) {
    result.error = "cannot run wast2json (install wabt)";
    return result;
  }
  if (rc != 0) {
    // wast2json's messages start with FILE:LINE:COLUMN; keep the first one.
    // wast2json's messages are FILE:LINE:COLUMN: error, the source line and a caret; keep the first.
    std::istringstream err(read_text(dir.path() / "wast2json.err"));
    std::string line, first;
    for (int n = 0; n < 3 && std::getline(err, line); ++n) {
      first += (first.empty() ? "" : "\n") + line;
      if (line.find_first_not_of(" ^") == std::string::npos) break;
    }
    result.error = first.empty() ? "wast2json failed (status " + std::to_string(rc) + ")" : first;
    return result;
  }
  json script;
  try {
    script = json::parse(read_text(json_file));
  } catch (const std::exception& e) {
    result.error = std::string("cannot read wast2json's output: ") + e.what();
    return result;
  }
  // Guest code runs on a thread of its own: its stack has the runtime's
  // guard, so deep recursion is an exhaustion trap (assert_exhaustion).
  std::thread runner([&] {
    try {
      Script s(wast, dir.path(), options, result);
      s.run(script.value("commands", json::array()));
    } catch (const std::exception& e) {
      result.error = std::string("malformed wast2json output: ") + e.what();
    }
  });
  runner.join();
  return result;
}

}  // namespace wink::cli::wast
