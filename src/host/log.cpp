// Prepared (per component): store bindings, secret redaction, JSON log lines;
// node variables (environment, --vars-file); error names.
#include <algorithm>
#include <fstream>

#include "host/host.h"

namespace wink::host {

const char* error_name(uint32_t code) {
  switch (code) {
    case kOk: return "ok";
    case kNotFound: return "not_found";
    case kInvalid: return "invalid";
    case kTooLarge: return "too_large";
    case kBufferTooSmall: return "buffer_too_small";
    case kDenied: return "denied";
    case kBadHandle: return "bad_handle";
    case kBackend: return "backend";
    case kTimeout: return "timeout";
    case kConnection: return "connection";
    case kFault: return "fault";
    case kNoResponse: return "no_response";
    case kLimit: return "limit";
    case kInternal: return "internal";
  }
  return "unknown";
}

Result<std::map<std::string, std::string, std::less<>>> load_vars_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error("--vars-file " + path + ": cannot open");
  std::map<std::string, std::string, std::less<>> vars;
  std::string line;
  int lineno = 0;
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
  };
  while (std::getline(in, line)) {
    ++lineno;
    std::string_view l = trim(line);
    if (l.empty() || l.front() == '#') continue;
    size_t eq = l.find('=');
    if (eq == std::string_view::npos) {
      return make_error(path + ":" + std::to_string(lineno) + ": expected name = value");
    }
    std::string name(trim(l.substr(0, eq)));
    std::string_view value = trim(l.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name.empty()) return make_error(path + ":" + std::to_string(lineno) + ": empty variable name");
    vars[name] = std::string(value);
  }
  return vars;
}

std::optional<std::string> node_variable(const Node& node, std::string_view name) {
  std::string env = "WINK_VAR_";
  for (char c : name) env += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (node.getenv) {
    if (const char* v = node.getenv(env.c_str())) return std::string(v);
  }
  if (auto it = node.file_variables.find(name); it != node.file_variables.end()) return it->second;
  return std::nullopt;
}

Result<std::shared_ptr<const Prepared>> Prepared::create(std::shared_ptr<const Node> node,
                                                        ComponentSpec spec) {
  std::shared_ptr<Prepared> p(new Prepared());
  for (const auto& name : spec.stores) {
    auto it = node->stores.find(name);
    if (it == node->stores.end()) {
      std::string configured;
      for (const auto& [n, s] : node->stores) configured += (configured.empty() ? "" : ", ") + n;
      return make_error("key-value store \"" + name + "\" is not configured on this node (configured: " +
                        (configured.empty() ? "none" : configured) + ")");
    }
    p->stores_.emplace(name, it->second.get());
  }
  for (const auto& [name, v] : spec.variables) {
    // Very short secrets would redact ordinary words; they are still never
    // logged by wink itself.
    if (v.secret && v.value && v.value->size() >= 4) p->secrets_.push_back(*v.value);
  }
  // Longest first, so a secret containing another is replaced whole.
  std::sort(p->secrets_.begin(), p->secrets_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  p->node_ = std::move(node);
  p->spec_ = std::move(spec);
  return std::shared_ptr<const Prepared>(std::move(p));
}

KeyValueStore* Prepared::store(std::string_view name) const {
  auto it = stores_.find(name);
  return it == stores_.end() ? nullptr : it->second;
}

void Prepared::redact(std::string& text) const {
  for (const auto& s : secrets_) {
    for (size_t pos = 0; (pos = text.find(s, pos)) != std::string::npos;) {
      text.replace(pos, s.size(), "[redacted]");
      pos += 10;
    }
  }
}

void Prepared::log(std::string_view level, std::string_view request_id, std::string_view msg,
                   std::initializer_list<std::pair<std::string_view, std::string_view>> fields) const {
  if (!node_->log) return;
  std::string line = "{\"time\":\"" + now_iso8601() + "\",\"level\":";
  append_json(line, level);
  line += ",\"msg\":";
  std::string m(msg);
  redact(m);
  append_json(line, m);
  line += ",\"app\":";
  append_json(line, spec_.app);
  line += ",\"component\":";
  append_json(line, spec_.component);
  line += ",\"request_id\":";
  append_json(line, request_id);
  for (const auto& [k, v] : fields) {
    line += ',';
    append_json(line, k);
    line += ':';
    std::string value(v);
    redact(value);
    append_json(line, value);
  }
  line += "}\n";
  node_->log(line);
}

}  // namespace wink::host
