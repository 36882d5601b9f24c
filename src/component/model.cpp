// Small helpers of the component model: names, lookups, printable kinds.
#include "component/model.h"

namespace wink::component {

const char* sort_name(Sort s, CoreSort core) {
  switch (s) {
    case Sort::Core:
      switch (core) {
        case CoreSort::Func: return "core func";
        case CoreSort::Table: return "core table";
        case CoreSort::Memory: return "core memory";
        case CoreSort::Global: return "core global";
        case CoreSort::Tag: return "core tag";
        case CoreSort::Type: return "core type";
        case CoreSort::Module: return "core module";
        case CoreSort::Instance: return "core instance";
      }
      return "core ?";
    case Sort::Func: return "func";
    case Sort::Value: return "value";
    case Sort::Type: return "type";
    case Sort::Component: return "component";
    case Sort::Instance: return "instance";
  }
  return "?";
}

const char* type_kind_name(TypeDef::Kind k) {
  switch (k) {
    case TypeDef::Kind::Value: return "value";
    case TypeDef::Kind::Func: return "func";
    case TypeDef::Kind::Component: return "component";
    case TypeDef::Kind::Instance: return "instance";
    case TypeDef::Kind::Resource: return "resource";
  }
  return "?";
}

const char* string_encoding_name(StringEncoding e) {
  switch (e) {
    case StringEncoding::Utf8: return "utf8";
    case StringEncoding::Utf16: return "utf16";
    case StringEncoding::Latin1Utf16: return "latin1+utf16";
  }
  return "?";
}

namespace {

bool is_kebab_word(std::string_view s) {
  if (s.empty()) return false;
  bool word_start = true;
  for (char ch : s) {
    if (ch == '-') {
      if (word_start) return false;
      word_start = true;
      continue;
    }
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
    if (!ok) return false;
    if (word_start && ch >= '0' && ch <= '9') return false;
    word_start = false;
  }
  return !word_start;
}

// semver: MAJOR.MINOR.PATCH, optional -prerelease and +build of [0-9A-Za-z.-].
bool is_semver(std::string_view v) {
  size_t i = 0;
  for (int part = 0; part < 3; ++part) {
    size_t start = i;
    while (i < v.size() && v[i] >= '0' && v[i] <= '9') ++i;
    if (i == start) return false;
    if (i - start > 1 && v[start] == '0') return false;
    if (part < 2) {
      if (i >= v.size() || v[i] != '.') return false;
      ++i;
    }
  }
  if (i == v.size()) return true;
  if (v[i] != '-' && v[i] != '+') return false;
  ++i;
  if (i == v.size()) return false;
  for (; i < v.size(); ++i) {
    char ch = v[i];
    bool ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '.' ||
              ch == '-' || ch == '+';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string ExternName::unversioned() const {
  if (!is_interface()) return text;
  return ns + ":" + package + "/" + interface;
}

Result<ExternName> parse_extern_name(const std::string& text) {
  ExternName n;
  n.text = text;
  if (text.empty()) return make_error("empty import/export name");
  // Dependency and URL names (`unlocked-dep=<...>`, `url=<...>`) and plain
  // names with annotations (`[method]r.m`) are kept as text.
  if (text.find('=') != std::string::npos || text[0] == '[') return n;
  size_t colon = text.find(':');
  if (colon == std::string::npos) {
    if (!is_kebab_word(text)) return make_error("name '" + text + "' is not a kebab-case label");
    return n;
  }
  size_t slash = text.find('/', colon);
  if (slash == std::string::npos) return make_error("interface name '" + text + "' has no '/'");
  size_t at = text.find('@', slash);
  n.ns = text.substr(0, colon);
  n.package = text.substr(colon + 1, slash - colon - 1);
  n.interface = text.substr(slash + 1, at == std::string::npos ? std::string::npos : at - slash - 1);
  if (at != std::string::npos) n.version = text.substr(at + 1);
  // Nested namespaces/packages (`a:b:c/d`) are allowed by the grammar: each
  // part separated by ':' or '/' is a kebab label.
  auto parts_ok = [](std::string_view s, char sep) {
    size_t start = 0;
    while (true) {
      size_t end = s.find(sep, start);
      if (!is_kebab_word(s.substr(start, end == std::string_view::npos ? end : end - start))) return false;
      if (end == std::string_view::npos) return true;
      start = end + 1;
    }
  };
  if (!is_kebab_word(n.ns) || !parts_ok(n.package, ':') || !parts_ok(n.interface, '/')) {
    return make_error("interface name '" + text + "' is not namespace:package/interface");
  }
  if (at != std::string::npos && !is_semver(n.version)) {
    return make_error("version '" + n.version + "' of '" + text + "' is not a semantic version");
  }
  return n;
}

const ExternDecl* InstanceTypeDef::find(const std::string& name) const {
  for (const ExternDecl& d : exports) {
    if (d.name.text == name) return &d;
  }
  return nullptr;
}

const Export* Component::find_export(const std::string& name) const {
  for (const Export& e : exports) {
    if (e.name.text == name) return &e;
  }
  return nullptr;
}

const Import* Component::find_import(const std::string& name) const {
  for (const Import& i : imports) {
    if (i.name.text == name) return &i;
  }
  return nullptr;
}

}  // namespace wink::component
