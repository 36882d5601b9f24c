// wink.toml -> Manifest, refusing anything wrong with file:line:column: reason.
#include "manifest/manifest.h"

#include <toml++/toml.h>

#include <map>
#include <set>
#include <sstream>

#include "common/files.h"
#include "manifest/router.h"

namespace wink::manifest {
namespace fs = std::filesystem;
namespace {

constexpr uint64_t kPageBytes = 64 * 1024;
constexpr uint64_t kMaxMemoryBytes = 4ull << 30;
constexpr auto kMaxDeadline = std::chrono::hours(24);

const char* type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "array";
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    default: return "nothing";
  }
}

// Collects errors with their source positions; the manifest is refused if any.
class Checker {
 public:
  explicit Checker(std::string display) : display_(std::move(display)) {}

  void error(const toml::source_region& where, const std::string& reason) {
    std::ostringstream out;
    out << display_;
    if (where.begin.line != 0) {
      out << ':' << where.begin.line;
      if (where.begin.column != 0) out << ':' << where.begin.column;
    }
    out << ": " << reason;
    errors_.push_back(out.str());
  }
  void error(const toml::node& where, const std::string& reason) { error(where.source(), reason); }

  bool ok() const { return errors_.empty(); }
  Error result() const {
    std::string msg;
    for (const auto& e : errors_) {
      if (!msg.empty()) msg += '\n';
      msg += e;
    }
    return make_error(msg);
  }

  // Refuses keys of `table` outside `allowed`; `what` names the table in messages.
  void only_keys(const toml::table& table, std::initializer_list<std::string_view> allowed,
                 const std::string& what) {
    for (auto&& [key, node] : table) {
      bool known = false;
      for (auto a : allowed) known |= key.str() == a;
      if (!known) {
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        error(key.source(), "unknown field \"" + std::string(key.str()) + "\" in " + what +
                                " (expected one of: " + list + ")");
      }
    }
  }

  // A string field; nullptr (with an error) if present with another type.
  const std::string* string_field(const toml::table& table, std::string_view key,
                                  const std::string& what) {
    const toml::node* node = table.get(key);
    if (!node) return nullptr;
    if (auto* s = node->as_string()) return &s->get();
    error(*node, what + "." + std::string(key) + ": expected a string, got " +
                     type_name(node->type()));
    return nullptr;
  }

 private:
  std::string display_;
  std::vector<std::string> errors_;
};

bool valid_id(std::string_view id) {
  if (id.empty()) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// Route syntax: "/a/b" or "/a/..." or "/...": no query, fragment, whitespace,
// control bytes, empty/"."/".." segments; "..." only as the last segment.
// Returns an empty string if fine, else the reason.
std::string check_route(std::string_view path, std::string& prefix, bool& wildcard) {
  if (path.empty() || path[0] != '/') return "must start with '/'";
  for (unsigned char c : path) {
    if (c <= 0x20 || c == 0x7f) return "must not contain spaces or control characters";
    if (c == '?' || c == '#') return "must not contain '?' or '#' (routes match the path only)";
  }
  wildcard = path == "/..." || (path.size() > 4 && path.substr(path.size() - 4) == "/...");
  prefix = std::string(wildcard ? path.substr(0, path.size() - 4) : path);
  // Check segments of the prefix; an exact route may end with '/'.
  std::string_view rest = prefix;
  if (!rest.empty()) rest.remove_prefix(1);
  if (!wildcard && !rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty()) return "";
  size_t start = 0;
  for (;;) {
    size_t end = rest.find('/', start);
    std::string_view seg = rest.substr(start, end == std::string_view::npos ? rest.npos : end - start);
    if (seg.empty()) return "must not contain empty segments (\"//\" or a trailing '/' before \"...\")";
    if (seg == "." || seg == "..") return "must not contain \".\" or \"..\" segments";
    if (seg == "...") return "\"...\" is only allowed as the last segment (\"/prefix/...\")";
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return "";
}

// Guest directory: absolute, normalized.
std::string check_guest_dir(std::string_view dir) {
  if (dir.empty() || dir[0] != '/') return "must be an absolute guest path like \"/static\"";
  fs::path p(dir);
  if (p.lexically_normal().string() != dir && p.lexically_normal().string() + "/" != dir) {
    return "must be a normalized path (no \".\", \"..\" or \"//\")";
  }
  for (char c : dir) {
    if (c == '\0') return "must not contain NUL";
  }
  return "";
}

fs::path resolve(const fs::path& base, const std::string& p) {
  fs::path path(p);
  return (path.is_absolute() ? path : base / path).lexically_normal();
}

// Why a warm-up target is unusable ("" when fine): an origin-form GET target,
// "/path" or "/path?query", of visible ASCII without a fragment.
std::string check_warmup_target(const std::string& target) {
  constexpr size_t kMaxTarget = 2048;
  if (target.empty() || target[0] != '/') return "must start with '/' (a path, optionally with ?query)";
  if (target.size() > kMaxTarget) return "is longer than " + std::to_string(kMaxTarget) + " bytes";
  for (unsigned char ch : target) {
    if (ch <= 0x20 || ch >= 0x7f) return "must be visible ASCII without spaces (percent-encode the rest)";
    if (ch == '#') return "must not contain '#' (a fragment is never sent to a server)";
  }
  return "";
}

// `warmup = ["/", "/search?q=x"]`: requests served to the instance after
// init and before the snapshot. Only long-lived (reactor) instances: a WAGI
// handler reads its request from the environment, which wasi-libc caches in
// guest memory on first use, so a warmed WAGI snapshot would hand every later
// request the warm-up's variables. Whether each target routes to this
// component is checked once the routes are read (end of parse()).
void parse_warmup(Checker& ck, const std::string& what, const toml::table& t, const Component& c,
                  ComponentInit& ci) {
  constexpr size_t kMaxWarmup = 32;  // each runs at every deploy, before the app serves
  const toml::node* n = t.get("warmup");
  if (!n) return;
  const toml::array* arr = n->as_array();
  if (!arr) {
    ck.error(*n, what + ".warmup: expected an array of request targets like [\"/\", \"/search?q=x\"], got " +
                     type_name(n->type()));
    return;
  }
  if (c.executor != Executor::kReactor && !arr->empty()) {
    ck.error(*n, what + ".warmup: warm-up requests need a long-lived instance (executor = \"reactor\"); a WAGI "
                        "handler reads its request from the environment, which wasi-libc keeps after the first "
                        "getenv, so a warmed snapshot would give every later request the warm-up's variables "
                        "(do the warm-up work inside `init` instead)");
    return;
  }
  if (arr->size() > kMaxWarmup) {
    ck.error(*n, what + ".warmup: at most " + std::to_string(kMaxWarmup) + " requests, got " +
                     std::to_string(arr->size()));
    return;
  }
  for (const toml::node& item : *arr) {
    const auto* v = item.as_string();
    if (!v) {
      ck.error(item, what + ".warmup: expected a request target string, got " + type_name(item.type()));
      continue;
    }
    const std::string target = v->get();
    if (std::string why = check_warmup_target(target); !why.empty()) {
      ck.error(item, what + ".warmup: \"" + target.substr(0, 80) + "\" " + why);
      continue;
    }
    ci.warmup.push_back(Located{target, static_cast<uint32_t>(item.source().begin.line),
                                static_cast<uint32_t>(item.source().begin.column)});
  }
}

// Snapshot fields: init, init_args, init_environment, init_deadline, warmup.
void parse_init(Checker& ck, const std::string& what, const toml::table& t, Component& c) {
  const toml::node* init = t.get("init");
  if (!init) {
    for (const char* k : {"init_args", "init_environment", "init_deadline", "warmup"}) {
      if (const toml::node* n = t.get(k)) {
        ck.error(*n, what + "." + k + ": only meaningful with `init = \"<export>\"` (the initialization "
                                   "export to snapshot)");
      }
    }
    return;
  }
  ComponentInit ci;
  if (const std::string* s = ck.string_field(t, "init", what)) {
    if (s->empty()) ck.error(*init, what + ".init: must name an exported function, e.g. \"wizer.initialize\"");
    ci.export_name = *s;
    ci.line = static_cast<uint32_t>(init->source().begin.line);
    ci.column = static_cast<uint32_t>(init->source().begin.column);
  }
  auto string_array = [&](const char* key, std::vector<std::string>& out) {
    const toml::node* n = t.get(key);
    if (!n) return;
    const toml::array* arr = n->as_array();
    if (!arr) {
      ck.error(*n, what + "." + key + ": expected an array of strings, got " + type_name(n->type()));
      return;
    }
    for (const toml::node& item : *arr) {
      if (const auto* v = item.as_string()) {
        out.push_back(v->get());
      } else {
        ck.error(item, what + "." + key + ": expected a string, got " + type_name(item.type()));
      }
    }
  };
  string_array("init_args", ci.args);
  if (const toml::node* n = t.get("init_environment")) {
    if (const toml::table* env = n->as_table()) {
      for (auto&& [key, value] : *env) {
        std::string k(key.str());
        if (k.empty() || k.find('=') != std::string::npos || k.find('\0') != std::string::npos) {
          ck.error(key.source(), what + ".init_environment: invalid variable name \"" + k + "\"");
        }
        if (const auto* v = value.as_string()) {
          ci.environment.emplace_back(k, v->get());
        } else {
          ck.error(value, what + ".init_environment." + k + ": expected a string, got " + type_name(value.type()));
        }
      }
    } else {
      ck.error(*n, what + ".init_environment: expected a table like { KEY = \"value\" }, got " +
                       type_name(n->type()));
    }
  }
  if (const toml::node* n = t.get("init_deadline")) {
    if (const std::string* s = ck.string_field(t, "init_deadline", what)) {
      auto d = parse_duration(*s);
      if (!d.ok()) {
        ck.error(*n, what + ".init_deadline: " + d.error().message);
      } else if (d->count() <= 0 || *d > kMaxDeadline) {
        ck.error(*n, what + ".init_deadline: must be more than 0 and at most 24h, got \"" + *s + "\"");
      } else {
        ci.deadline = *d;
      }
    }
  }
  parse_warmup(ck, what, t, c, ci);
  c.init = std::move(ci);
}

// Lifecycle fields of long-lived (reactor) components.
void parse_lifecycle(Checker& ck, const std::string& what, const toml::table& t, Component& c) {
  static const char* kFields[] = {"scale_to_zero", "idle_timeout", "stateful", "min_instances",
                                  "max_instances", "scale_warmup", "scale_cooldown",
                                  "scale_policies", "queue", "queue_timeout"};
  if (c.executor != Executor::kReactor) {
    for (const char* k : kFields) {
      if (const toml::node* n = t.get(k)) {
        ck.error(*n, what + "." + k + ": only meaningful with executor = \"reactor\" (long-lived instances)");
      }
    }
    return;
  }
  Lifecycle& l = c.lifecycle;
  if (const toml::node* n = t.get("scale_to_zero")) {
    if (const std::string* s = ck.string_field(t, "scale_to_zero", what)) {
      if (*s != "off" && *s != "on" && *s != "idle") {
        ck.error(*n, what + ".scale_to_zero: expected \"off\", \"on\" or \"idle\", got \"" + *s + "\"");
      }
      l.scale_to_zero = *s;
    }
  }
  auto duration_ms = [&](const char* key, std::chrono::milliseconds& out, std::chrono::milliseconds min) {
    const toml::node* n = t.get(key);
    if (!n) return;
    const std::string* s = ck.string_field(t, key, what);
    if (!s) return;
    auto d = parse_duration(*s);
    if (!d.ok()) {
      ck.error(*n, what + "." + key + ": " + d.error().message);
    } else if (*d < min || *d > kMaxDeadline) {
      ck.error(*n, what + "." + key + ": must be between " + std::to_string(min.count()) + "ms and 24h, got \"" + *s + "\"");
    } else {
      out = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
    }
  };
  duration_ms("idle_timeout", l.idle_timeout, std::chrono::milliseconds(10));
  duration_ms("scale_warmup", l.scale_warmup, std::chrono::milliseconds(0));
  duration_ms("scale_cooldown", l.scale_cooldown, std::chrono::milliseconds(0));
  duration_ms("queue_timeout", l.queue_timeout, std::chrono::milliseconds(0));
  if (const toml::node* n = t.get("stateful")) {
    if (const auto* b = n->as_boolean()) l.stateful = b->get();
    else ck.error(*n, what + ".stateful: expected true or false, got " + type_name(n->type()));
  }
  auto count = [&](const char* key, uint32_t& out, int64_t min, int64_t max) {
    const toml::node* n = t.get(key);
    if (!n) return;
    const auto* i = n->as_integer();
    if (!i) {
      ck.error(*n, what + "." + key + ": expected an integer, got " + type_name(n->type()));
    } else if (i->get() < min || i->get() > max) {
      ck.error(*n, what + "." + key + ": must be between " + std::to_string(min) + " and " + std::to_string(max));
    } else {
      out = static_cast<uint32_t>(i->get());
    }
  };
  count("min_instances", l.min_instances, 0, 10000);
  count("max_instances", l.max_instances, 1, 10000);
  count("queue", l.queue, 0, 1000000);
  if (l.min_instances > l.max_instances) {
    ck.error(*t.get("min_instances"), what + ".min_instances: exceeds max_instances (" +
                                          std::to_string(l.max_instances) + ")");
  }
  if (const toml::node* n = t.get("scale_policies")) {
    const toml::array* arr = n->as_array();
    if (!arr) {
      ck.error(*n, what + ".scale_policies: expected an array of tables, got " + type_name(n->type()));
      return;
    }
    for (const toml::node& item : *arr) {
      const toml::table* pt = item.as_table();
      if (!pt) {
        ck.error(item, what + ".scale_policies: expected a table, got " + type_name(item.type()));
        continue;
      }
      const std::string pw = what + ".scale_policies";
      ck.only_keys(*pt, {"name", "metric", "adjustment", "steps"}, pw);
      Lifecycle::Policy p;
      if (const std::string* s = ck.string_field(*pt, "name", pw)) p.name = *s;
      if (const std::string* s = ck.string_field(*pt, "metric", pw)) {
        if (*s != "inflight" && *s != "rps" && *s != "cpu") {
          ck.error(*pt->get("metric"), pw + ".metric: expected \"inflight\", \"rps\" or \"cpu\", got \"" + *s + "\"");
        }
        p.metric = *s;
      }
      if (const std::string* s = ck.string_field(*pt, "adjustment", pw)) {
        if (*s != "change" && *s != "exact" && *s != "percent") {
          ck.error(*pt->get("adjustment"), pw + ".adjustment: expected \"change\", \"exact\" or \"percent\", got \"" + *s + "\"");
        }
        p.adjustment = *s;
      }
      if (p.name.empty()) p.name = p.metric;
      const toml::node* sn = pt->get("steps");
      const toml::array* steps = sn ? sn->as_array() : nullptr;
      if (!steps || steps->empty() || steps->size() > 4) {
        ck.error(sn ? *sn : item, pw + ".steps: expected 1 to 4 steps like { lower = 10, upper = 20, adjustment = 1 }");
        continue;
      }
      for (const toml::node& st : *steps) {
        const toml::table* stt = st.as_table();
        if (!stt) {
          ck.error(st, pw + ".steps: expected a table");
          continue;
        }
        ck.only_keys(*stt, {"lower", "upper", "adjustment"}, pw + ".steps");
        Lifecycle::Step step;
        auto num = [&](const char* key, double& out) {
          if (const toml::node* v = stt->get(key)) {
            if (auto* i = v->as_integer()) out = static_cast<double>(i->get());
            else if (auto* f = v->as_floating_point()) out = f->get();
            else ck.error(*v, pw + ".steps." + key + ": expected a number");
          }
        };
        num("lower", step.lower);
        num("upper", step.upper);
        if (const toml::node* v = stt->get("adjustment")) {
          if (auto* i = v->as_integer()) step.adjustment = i->get();
          else ck.error(*v, pw + ".steps.adjustment: expected an integer");
        } else {
          ck.error(st, pw + ".steps: missing \"adjustment\"");
        }
        if (!(step.lower < step.upper)) ck.error(st, pw + ".steps: lower must be below upper");
        p.steps.push_back(step);
      }
      l.scale_policies.push_back(std::move(p));
    }
  }
}

void parse_component(Checker& ck, const std::string& id, const toml::node& node,
                     const fs::path& dir, Component& c) {
  const std::string what = "component." + id;
  c.id = id;
  if (!valid_id(id)) {
    ck.error(node, "component name \"" + id + "\" may only use letters, digits, '-' and '_'");
  }
  const toml::table* t = node.as_table();
  if (!t) {
    ck.error(node, what + ": expected a table, got " + type_name(node.type()));
    return;
  }
  ck.only_keys(*t,
               {"source", "executor", "entrypoint", "environment", "argv", "files", "memory_limit",
                "deadline", "description", "init", "init_args", "init_environment",
                "init_deadline", "warmup", "key_value_stores", "allowed_outbound_hosts",
                "variables", "scale_to_zero", "idle_timeout", "stateful", "min_instances",
                "max_instances", "scale_warmup", "scale_cooldown", "scale_policies", "queue",
                "queue_timeout"},
               "[" + what + "]");
  ck.string_field(*t, "description", what);

  if (const toml::node* n = t->get("source")) {
    if (const std::string* s = ck.string_field(*t, "source", what)) {
      c.source = resolve(dir, *s);
      std::error_code ec;
      if (s->empty()) {
        ck.error(*n, what + ".source: must not be empty");
      } else if (!fs::exists(c.source, ec)) {
        ck.error(*n, what + ".source: module file " + c.source.string() + " does not exist");
      } else if (!fs::is_regular_file(c.source, ec)) {
        ck.error(*n, what + ".source: " + c.source.string() + " is not a regular file");
      }
    }
  } else {
    ck.error(node, what + ": missing required field \"source\" (the module's .wasm file)");
  }

  if (const toml::node* n = t->get("executor")) {
    if (const std::string* s = ck.string_field(*t, "executor", what)) {
      if (*s == "wagi") {
        c.executor = Executor::kWagi;
      } else if (*s == "reactor") {
        c.executor = Executor::kReactor;
        c.entrypoint = "wink_handle";  // the reactor's per-request export, unless given
      } else {
        ck.error(*n, what + ".executor: unknown executor \"" + *s + "\" (supported: \"wagi\", \"reactor\")");
      }
    }
  }

  if (const toml::node* n = t->get("entrypoint")) {
    if (const std::string* s = ck.string_field(*t, "entrypoint", what)) {
      if (s->empty()) ck.error(*n, what + ".entrypoint: must not be empty");
      c.entrypoint = *s;
    }
  }

  if (const toml::node* n = t->get("environment")) {
    if (const toml::table* env = n->as_table()) {
      for (auto&& [key, value] : *env) {
        std::string k(key.str());
        if (k.empty() || k.find('=') != std::string::npos || k.find('\0') != std::string::npos) {
          ck.error(key.source(), what + ".environment: invalid variable name \"" + k + "\"");
        }
        if (const auto* v = value.as_string()) {
          if (v->get().find('\0') != std::string::npos) {
            ck.error(value, what + ".environment." + k + ": must not contain NUL");
          }
          c.environment.emplace_back(k, v->get());
        } else {
          ck.error(value, what + ".environment." + k + ": expected a string, got " +
                              type_name(value.type()) + " (quote it: " + k + " = \"...\")");
        }
      }
    } else {
      ck.error(*n, what + ".environment: expected a table like { KEY = \"value\" }, got " +
                       type_name(n->type()));
    }
  }

  if (const toml::node* n = t->get("argv")) {
    if (const std::string* s = ck.string_field(*t, "argv", what)) {
      if (s->find_first_not_of(" \t\r\n") == std::string::npos) {
        ck.error(*n, what + ".argv: must not be empty");
      }
      c.argv = *s;
    }
  }

  if (const toml::node* n = t->get("files")) {
    if (const toml::array* arr = n->as_array()) {
      std::map<std::string, const toml::node*> seen;
      for (const toml::node& item : *arr) {
        const toml::table* m = item.as_table();
        if (!m) {
          ck.error(item, what + ".files: each entry must be a table { source = \"dir\", "
                                "destination = \"/guest/dir\" }, got " +
                             type_name(item.type()));
          continue;
        }
        ck.only_keys(*m, {"source", "destination"}, what + ".files entry");
        FileMount fm;
        bool ok = true;
        if (const toml::node* src = m->get("source")) {
          if (const std::string* s = ck.string_field(*m, "source", what + ".files")) {
            fm.host_dir = resolve(dir, *s);
            std::error_code ec;
            if (!fs::is_directory(fm.host_dir, ec)) {
              ck.error(*src, what + ".files.source: directory " + fm.host_dir.string() +
                                 " does not exist");
              ok = false;
            }
          } else {
            ok = false;
          }
        } else {
          ck.error(item, what + ".files entry: missing required field \"source\"");
          ok = false;
        }
        if (const toml::node* dst = m->get("destination")) {
          if (const std::string* s = ck.string_field(*m, "destination", what + ".files")) {
            std::string why = check_guest_dir(*s);
            if (!why.empty()) {
              ck.error(*dst, what + ".files.destination \"" + *s + "\": " + why);
              ok = false;
            } else {
              fm.guest_dir = *s;
              if (fm.guest_dir.size() > 1 && fm.guest_dir.back() == '/') fm.guest_dir.pop_back();
              auto [it, fresh] = seen.emplace(fm.guest_dir, dst);
              if (!fresh) {
                ck.error(*dst, what + ".files.destination \"" + fm.guest_dir +
                                   "\" is already mapped at line " +
                                   std::to_string(it->second->source().begin.line));
                ok = false;
              }
            }
          } else {
            ok = false;
          }
        } else {
          ck.error(item, what + ".files entry: missing required field \"destination\"");
          ok = false;
        }
        if (ok) c.files.push_back(std::move(fm));
      }
    } else {
      ck.error(*n, what + ".files: expected an array of { source, destination } tables, got " +
                       type_name(n->type()));
    }
  }

  if (const toml::node* n = t->get("memory_limit")) {
    if (const std::string* s = ck.string_field(*t, "memory_limit", what)) {
      auto size = parse_size(*s);
      if (!size.ok()) {
        ck.error(*n, what + ".memory_limit: " + size.error().message);
      } else if (*size < kPageBytes || *size > kMaxMemoryBytes) {
        ck.error(*n, what + ".memory_limit: must be between 64KiB and 4GiB, got \"" + *s + "\"");
      } else {
        c.memory_limit_bytes = *size;
      }
    }
  }

  // Capabilities: lists of strings, each remembered with its position.
  auto string_list = [&](std::string_view key, std::vector<Located>& out, auto check) {
    const toml::node* n = t->get(key);
    if (!n) return;
    const toml::array* arr = n->as_array();
    if (!arr) {
      ck.error(*n, what + "." + std::string(key) + ": expected an array of strings, got " +
                       type_name(n->type()));
      return;
    }
    std::set<std::string> seen;
    for (const toml::node& item : *arr) {
      const auto* str = item.as_string();
      if (!str) {
        ck.error(item, what + "." + std::string(key) + ": expected a string, got " +
                           type_name(item.type()));
        continue;
      }
      std::string why = check(str->get());
      if (!why.empty()) {
        ck.error(item, what + "." + std::string(key) + ": \"" + str->get() + "\" " + why);
        continue;
      }
      if (!seen.insert(str->get()).second) {
        ck.error(item, what + "." + std::string(key) + ": \"" + str->get() + "\" is listed twice");
        continue;
      }
      out.push_back(Located{str->get(), item.source().begin.line, item.source().begin.column});
    }
  };
  string_list("key_value_stores", c.key_value_stores, [](const std::string& s) -> std::string {
    return valid_id(s) ? "" : "is not a valid store name (letters, digits, '-' and '_')";
  });
  // Pattern syntax is checked at app load by the host interface (with this position).
  string_list("allowed_outbound_hosts", c.allowed_outbound_hosts, [](const std::string& s) -> std::string {
    return s.empty() ? "must not be empty" : "";
  });
  string_list("variables", c.variables, [](const std::string&) -> std::string { return ""; });

  if (const toml::node* n = t->get("deadline")) {
    if (const std::string* s = ck.string_field(*t, "deadline", what)) {
      auto d = parse_duration(*s);
      if (!d.ok()) {
        ck.error(*n, what + ".deadline: " + d.error().message);
      } else if (d->count() <= 0 || *d > kMaxDeadline) {
        ck.error(*n, what + ".deadline: must be more than 0 and at most 24h, got \"" + *s + "\"");
      } else {
        c.deadline = *d;
      }
    }
  }

  parse_init(ck, what, *t, c);
  parse_lifecycle(ck, what, *t, c);
}

}  // namespace

namespace {

void parse_app_hosts(Checker& ck, const toml::table& app, Manifest& m) {
  const toml::node* n = app.get("hosts");
  if (!n) return;
  const toml::array* arr = n->as_array();
  if (!arr) {
    ck.error(*n, std::string("app.hosts: expected an array of host names, got ") + type_name(n->type()));
    return;
  }
  std::set<std::string> seen;
  for (const toml::node& item : *arr) {
    const auto* str = item.as_string();
    if (!str) {
      ck.error(item, std::string("app.hosts: expected a string, got ") + type_name(item.type()));
      continue;
    }
    if (std::string why = check_host_name(str->get()); !why.empty()) {
      ck.error(item, "app.hosts: \"" + str->get() + "\" " + why);
      continue;
    }
    if (!seen.insert(str->get()).second) {
      ck.error(item, "app.hosts: \"" + str->get() + "\" is listed twice");
      continue;
    }
    m.hosts.push_back(Located{str->get(), item.source().begin.line, item.source().begin.column});
  }
}

void parse_app_quotas(Checker& ck, const toml::table& app, AppQuotas& q) {
  const toml::node* n = app.get("quotas");
  if (!n) return;
  const toml::table* t = n->as_table();
  if (!t) {
    ck.error(*n, std::string("app.quotas: expected a table, got ") + type_name(n->type()));
    return;
  }
  ck.only_keys(*t, {"active_instances", "total_instances", "memory_per_instance", "memory_total"}, "app.quotas");
  for (auto [key, out] : {std::pair{"active_instances", &q.active_instances},
                          std::pair{"total_instances", &q.total_instances}}) {
    const toml::node* v = t->get(key);
    if (!v) continue;
    const auto* i = v->as_integer();
    if (!i || i->get() < 0 || i->get() > 1'000'000) {
      ck.error(*v, std::string("app.quotas.") + key + ": expected a count from 0 to 1000000 (0 = unlimited)");
      continue;
    }
    *out = static_cast<uint64_t>(i->get());
  }
  for (auto [key, out] : {std::pair{"memory_per_instance", &q.memory_per_instance},
                          std::pair{"memory_total", &q.memory_total}}) {
    const toml::node* v = t->get(key);
    if (!v) continue;
    const auto* s = v->as_string();
    if (!s) {
      ck.error(*v, std::string("app.quotas.") + key + ": expected a size like \"256MiB\", got " + type_name(v->type()));
      continue;
    }
    auto size = parse_size(s->get());
    if (!size.ok()) {
      ck.error(*v, std::string("app.quotas.") + key + ": " + size.error().message);
      continue;
    }
    *out = *size;
  }
}

std::string check_label(std::string_view label) {
  if (label.empty()) return "has an empty label";
  if (label.size() > 63) return "has a label longer than 63 bytes";
  if (label.front() == '-' || label.back() == '-') return "has a label starting or ending with '-'";
  for (char c : label) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return "may only use lowercase letters, digits, '-' and '.'";
    }
  }
  return "";
}

}  // namespace

std::string check_host_name(std::string_view host) {
  if (host.empty()) return "must not be empty";
  if (host.size() > 253) return "is longer than 253 bytes";
  size_t start = 0;
  for (;;) {
    size_t dot = host.find('.', start);
    std::string why = check_label(host.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (!why.empty()) return why;
    if (dot == std::string_view::npos) return "";
    start = dot + 1;
  }
}

std::string app_name_of(std::string_view text) {
  try {
    toml::table root = toml::parse(text);
    if (auto* name = root["app"]["name"].as_string()) return name->get();
  } catch (const toml::parse_error&) {
  }
  return "";
}

std::string check_app_name(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (name.size() > 63) return "is longer than 63 bytes (one DNS label)";
  if (name.front() == '-' || name.back() == '-') return "must not start or end with '-'";
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return "may only use lowercase letters, digits and '-' (it becomes a DNS label)";
    }
  }
  return "";
}

Result<Manifest> parse(std::string_view text, const fs::path& file) {
  Manifest m;
  std::error_code ec;
  fs::path abs = fs::absolute(file, ec);
  m.file = (ec ? file : abs).lexically_normal();
  m.dir = m.file.parent_path();
  const std::string display = file.string();

  toml::table root;
  try {
    root = toml::parse(text, display);
  } catch (const toml::parse_error& e) {
    Checker ck(display);
    ck.error(e.source(), "invalid TOML: " + std::string(e.description()));
    return ck.result();
  }

  Checker ck(display);
  ck.only_keys(root, {"manifest_version", "app", "route", "component", "variables"}, "the manifest");
  m.display = display;

  // [variables]
  std::set<std::string> declared;
  if (const toml::node* n = root.get("variables")) {
    if (const toml::table* vars = n->as_table()) {
      for (auto&& [key, node] : *vars) {
        Variable v;
        v.name = std::string(key.str());
        v.line = key.source().begin.line;
        v.column = key.source().begin.column;
        const std::string what = "variables." + v.name;
        bool name_ok = !v.name.empty() && v.name[0] >= 'a' && v.name[0] <= 'z' && v.name.size() <= 64;
        for (char c : v.name) name_ok &= (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        if (!name_ok) {
          ck.error(key.source(), "variable name \"" + v.name +
                                     "\" must start with a lowercase letter and use only a-z, 0-9 "
                                     "and '_' (at most 64)");
        }
        const toml::table* vt = node.as_table();
        if (!vt) {
          ck.error(node, what + ": expected a table like { default = \"...\" } or "
                                "{ required = true }, got " + type_name(node.type()));
          continue;
        }
        ck.only_keys(*vt, {"default", "required", "secret", "description"}, what);
        ck.string_field(*vt, "description", what);
        if (vt->get("default")) {
          if (const std::string* d = ck.string_field(*vt, "default", what)) v.default_value = *d;
        }
        for (auto [field, out] : {std::pair{"required", &v.required}, std::pair{"secret", &v.secret}}) {
          if (const toml::node* b = vt->get(field)) {
            if (const auto* bv = b->as_boolean()) {
              *out = bv->get();
            } else {
              ck.error(*b, what + "." + field + ": expected true or false, got " + type_name(b->type()));
            }
          }
        }
        if (v.required && vt->get("default")) {
          ck.error(*vt->get("default"), what + ": a required variable cannot have a default");
        }
        declared.insert(v.name);
        m.variables.push_back(std::move(v));
      }
    } else {
      ck.error(*n, "variables: expected a table [variables], got " + std::string(type_name(n->type())));
    }
  }

  if (const toml::node* n = root.get("manifest_version")) {
    auto* v = n->as_integer();
    if (!v || v->get() != 1) ck.error(*n, "manifest_version: only version 1 exists");
  }

  // [app]
  if (const toml::node* n = root.get("app")) {
    if (const toml::table* app = n->as_table()) {
      ck.only_keys(*app, {"name", "description", "hosts", "quotas"}, "[app]");
      if (const std::string* s = ck.string_field(*app, "name", "app")) {
        if (!valid_id(*s)) {
          ck.error(*app->get("name"),
                   "app.name \"" + *s + "\" may only use letters, digits, '-' and '_'");
        }
        m.app_name = *s;
      } else if (!app->get("name")) {
        ck.error(*n, "[app]: missing required field \"name\"");
      }
      if (const std::string* s = ck.string_field(*app, "description", "app")) m.description = *s;
      parse_app_hosts(ck, *app, m);
      parse_app_quotas(ck, *app, m.quotas);
    } else {
      ck.error(*n, "app: expected a table ([app]), got " + std::string(type_name(n->type())));
    }
  } else {
    ck.error(toml::source_region{}, "missing [app] table with the app's name");
  }

  // [component.<id>]
  std::map<std::string, size_t> component_index;
  if (const toml::node* n = root.get("component")) {
    if (const toml::table* comps = n->as_table()) {
      for (auto&& [key, node] : *comps) {
        Component c;
        parse_component(ck, std::string(key.str()), node, m.dir, c);
        component_index.emplace(c.id, m.components.size());
        m.components.push_back(std::move(c));
      }
    } else {
      ck.error(*n, "component: expected tables [component.<name>], got " +
                       std::string(type_name(n->type())));
    }
  }
  if (m.components.empty()) {
    ck.error(toml::source_region{}, "no components: add a [component.<name>] table");
  }

  // [[route]]
  struct Seen {
    const toml::node* node;
    std::string component;
  };
  std::map<std::string, Seen> routes_seen;
  if (const toml::node* n = root.get("route")) {
    if (const toml::array* arr = n->as_array()) {
      for (const toml::node& item : *arr) {
        const toml::table* rt = item.as_table();
        if (!rt) {
          ck.error(item, "route: each entry must be a [[route]] table, got " +
                             std::string(type_name(item.type())));
          continue;
        }
        ck.only_keys(*rt, {"path", "component"}, "[[route]]");
        Route r;
        bool ok = true;
        const std::string* path = ck.string_field(*rt, "path", "route");
        const std::string* comp = ck.string_field(*rt, "component", "route");
        if (!rt->get("path")) {
          ck.error(item, "[[route]]: missing required field \"path\"");
          ok = false;
        }
        if (!rt->get("component")) {
          ck.error(item, "[[route]]: missing required field \"component\"");
          ok = false;
        }
        if (!path || !comp) continue;
        std::string why = check_route(*path, r.prefix, r.wildcard);
        if (!why.empty()) {
          ck.error(*rt->get("path"), "route \"" + *path + "\": " + why);
          ok = false;
        } else if (*path == "/healthz") {
          ck.error(*rt->get("path"),
                   "route \"/healthz\" conflicts with wink's built-in health check");
          ok = false;
        }
        auto ci = component_index.find(*comp);
        if (ci == component_index.end()) {
          ck.error(*rt->get("component"),
                   "route \"" + *path + "\": no component named \"" + *comp + "\"");
          ok = false;
        } else {
          r.component = ci->second;
        }
        if (ok) {
          // Normalized key: "/a/..." and "/a/..." are the same pattern.
          std::string key = (r.wildcard ? "W" : "E") + r.prefix;
          auto [it, fresh] = routes_seen.emplace(key, Seen{rt->get("path"), *comp});
          if (!fresh) {
            uint32_t line = it->second.node->source().begin.line;
            if (it->second.component == *comp) {
              ck.error(*rt->get("path"), "duplicate route \"" + *path +
                                             "\" (already defined at line " +
                                             std::to_string(line) + ")");
            } else {
              ck.error(*rt->get("path"), "conflicting route \"" + *path + "\": already mapped to component \"" +
                                             it->second.component + "\" at line " +
                                             std::to_string(line));
            }
            ok = false;
          }
        }
        if (ok) {
          r.pattern = *path;
          m.routes.push_back(std::move(r));
        }
      }
    } else {
      ck.error(*n, "route: expected [[route]] tables, got " + std::string(type_name(n->type())));
    }
  }
  if (!root.get("route")) {
    ck.error(toml::source_region{}, "no routes: add a [[route]] with path and component");
  }

  // A component may only read declared variables.
  for (const Component& c : m.components) {
    for (const Located& v : c.variables) {
      if (!declared.count(v.value)) {
        toml::source_region where;
        where.begin.line = v.line;
        where.begin.column = v.column;
        ck.error(where, "component." + c.id + ".variables: \"" + v.value +
                            "\" is not declared in [variables]");
      }
    }
  }

  // Each warm-up request must reach the component it warms.
  if (ck.ok()) {
    Router router(m.routes);
    for (const Component& c : m.components) {
      if (!c.init) continue;
      for (const Located& w : c.init->warmup) {
        toml::source_region where;
        where.begin.line = w.line;
        where.begin.column = w.column;
        const std::string path = w.value.substr(0, w.value.find('?'));
        const Route* r = router.match(path);
        if (!r) {
          ck.error(where, "component." + c.id + ".warmup: \"" + w.value + "\" matches no route");
        } else if (m.components[r->component].id != c.id) {
          ck.error(where, "component." + c.id + ".warmup: \"" + w.value + "\" is routed to component \"" +
                              m.components[r->component].id + "\", not to \"" + c.id + "\"");
        }
      }
    }
  }

  if (!ck.ok()) return ck.result();
  return m;
}

std::string Manifest::where(uint32_t line, uint32_t column) const {
  std::string out = display.empty() ? file.string() : display;
  if (line != 0) {
    out += ':' + std::to_string(line);
    if (column != 0) out += ':' + std::to_string(column);
  }
  return out;
}

Result<Manifest> load(const fs::path& path) {
  fs::path file = path;
  std::error_code ec;
  if (fs::is_directory(path, ec)) file = path / "wink.toml";
  auto text = read_text_file(file);
  if (!text.ok()) return std::move(text).error();
  return parse(*text, file);
}

}  // namespace wink::manifest
