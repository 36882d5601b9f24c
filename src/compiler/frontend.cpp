// Parsing, validation and interface extraction with libwabt.
#include "compiler/frontend.h"
#include "compiler/spec_gaps.h"

#include <wabt/apply-names.h>
#include <wabt/binary-reader-ir.h>
#include <wabt/binary-reader.h>
#include <wabt/cast.h>
#include <wabt/feature.h>
#include <wabt/generate-names.h>
#include <wabt/ir.h>
#include <wabt/validator.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <set>

#include "runtime/artifact_abi.h"
#include "runtime/signature.h"

namespace wink::compiler {

ParsedModule::ParsedModule() = default;
ParsedModule::~ParsedModule() = default;
ParsedModule::ParsedModule(ParsedModule&&) noexcept = default;
ParsedModule& ParsedModule::operator=(ParsedModule&&) noexcept = default;

namespace {

const char* section_name(uint8_t id) {
  static const char* const kNames[] = {"custom", "type",   "import", "function", "table",
                                       "memory", "global", "export", "start",    "element",
                                       "code",   "data",   "data count", "tag"};
  return id < sizeof kNames / sizeof kNames[0] ? kNames[id] : "unknown";
}

// A tolerant walk over the section headers, independent of wabt, used only to
// say *where* an error is: which section, which function body.
class SectionMap {
 public:
  explicit SectionMap(std::span<const uint8_t> b) : b_(b) {
    size_t p = 8;
    while (p < b_.size()) {
      Section s;
      s.id = b_[p];
      s.header = p;
      size_t q = p + 1;
      std::optional<uint64_t> size = leb(q);
      if (!size) break;
      s.start = q;
      s.end = advance(q, *size, b_.size());
      if (s.id == 2) count_func_imports(s);
      if (s.id == 10) map_bodies(s);
      sections_.push_back(s);
      p = s.end;
      if (*size > b_.size() - q) break;
    }
  }

  // " (in the code section, function 7)" style description of `offset`.
  std::string where(size_t offset) const {
    std::string out = "at byte offset " + std::to_string(offset);
    for (const Section& s : sections_) {
      if (offset < s.header || offset > s.end) continue;
      out += std::string(" (") + section_name(s.id) + " section";
      if (s.id > 13) out += " id " + std::to_string(s.id);
      if (s.id == 10) {
        for (size_t i = 0; i < bodies_.size(); ++i) {
          if (offset >= bodies_[i].first && offset <= bodies_[i].second) {
            out += ", function " + std::to_string(func_imports_ + i);
            break;
          }
        }
      }
      out += ")";
      break;
    }
    return out;
  }

  uint64_t code_bytes() const {
    for (const Section& s : sections_)
      if (s.id == 10) return s.end - s.start;
    return 0;
  }

 private:
  struct Section {
    uint8_t id = 0;
    size_t header = 0, start = 0, end = 0;
  };

  // p + n, but never past `end` (nor wrapped around: n comes from the input).
  static size_t advance(size_t p, uint64_t n, size_t end) { return n > end - p ? end : p + n; }

  std::optional<uint64_t> leb(size_t& p) const {
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && p < b_.size(); shift += 7) {
      uint8_t byte = b_[p++];
      v |= uint64_t(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return v;
    }
    return std::nullopt;
  }

  bool skip_name(size_t& p, size_t end) const {
    auto n = leb(p);
    if (!n || p > end || *n > end - p) return false;
    p += *n;
    return true;
  }

  void count_func_imports(const Section& s) {
    size_t p = s.start;
    auto count = leb(p);
    if (!count) return;
    for (uint64_t i = 0; i < *count && p < s.end; ++i) {
      if (!skip_name(p, s.end) || !skip_name(p, s.end) || p >= s.end) return;
      uint8_t kind = b_[p++];
      switch (kind) {
        case 0: func_imports_++; if (!leb(p)) return; break;
        case 1: p++; [[fallthrough]];
        case 2: {
          if (p >= s.end) return;
          uint8_t flags = b_[p++];
          if (!leb(p)) return;
          if ((flags & 1) && !leb(p)) return;
          break;
        }
        case 3: p += 2; break;
        case 4: p++; if (!leb(p)) return; break;
        default: return;
      }
    }
  }

  void map_bodies(const Section& s) {
    size_t p = s.start;
    auto count = leb(p);
    if (!count) return;
    for (uint64_t i = 0; i < *count && p < s.end; ++i) {
      auto size = leb(p);
      if (!size || p > s.end) return;
      bodies_.emplace_back(p, advance(p, *size, s.end));
      p = bodies_.back().second;
    }
  }

  std::span<const uint8_t> b_;
  std::vector<Section> sections_;
  std::vector<std::pair<size_t, size_t>> bodies_;
  size_t func_imports_ = 0;
};

std::optional<char> type_char(wabt::Type t) {
  switch (t) {
    case wabt::Type::I32: return 'i';
    case wabt::Type::I64: return 'I';
    case wabt::Type::F32: return 'f';
    case wabt::Type::F64: return 'F';
    case wabt::Type::FuncRef: return 'r';
    case wabt::Type::ExternRef: return 'e';
    default: return std::nullopt;
  }
}

Result<std::string> types_string(const wabt::TypeVector& types, const std::string& what) {
  std::string out;
  for (wabt::Type t : types) {
    auto c = type_char(t);
    if (!c) return make_error(what + " uses type " + t.GetName() + ", which wink does not support");
    out += *c;
  }
  return out;
}

const char* kind_name(wabt::ExternalKind k) {
  switch (k) {
    case wabt::ExternalKind::Func: return "function";
    case wabt::ExternalKind::Table: return "table";
    case wabt::ExternalKind::Memory: return "memory";
    case wabt::ExternalKind::Global: return "global";
    case wabt::ExternalKind::Tag: return "tag";
  }
  return "?";
}

// Rewords wabt's messages where the raw text would puzzle a user.
std::string explain(const std::string& message) {
  if (message.find("0xfd") != std::string::npos || message.find("v128") != std::string::npos)
    return message + ": the module uses SIMD (v128), which wink's translator (wasm2c 1.0.32) "
                     "does not support; rebuild it without -msimd128";
  if (message.find("0xfe") != std::string::npos)
    return message + ": the module uses threads/atomics, which wink does not support";
  if (message.find("0xfc") != std::string::npos)
    return message + ": unsupported extended (0xfc-prefixed) instruction";
  return message;
}

Error wabt_error(const wabt::Errors& errors, const SectionMap& map, const char* stage) {
  for (const wabt::Error& e : errors) {
    if (e.error_level != wabt::ErrorLevel::Error) continue;
    return make_error(std::string(stage) + ": " + explain(e.message) + " " + map.where(e.loc.offset));
  }
  return make_error(std::string(stage) + ": unknown error");
}

uint64_t limit_max(const wabt::Limits& l) { return l.has_max ? l.max : UINT64_MAX; }

// An import of a module compiled for linking, described for the linker.
Result<ImportInfo> linked_import(const wabt::Import& imp, const std::string& qualified) {
  ImportInfo info;
  info.module = imp.module_name;
  info.name = imp.field_name;
  switch (imp.kind()) {
    case wabt::ExternalKind::Func: {
      const auto* fi = wabt::cast<wabt::FuncImport>(&imp);
      WINK_ASSIGN_OR_RETURN(info.params, types_string(fi->func.decl.sig.param_types, "import " + qualified));
      WINK_ASSIGN_OR_RETURN(info.results, types_string(fi->func.decl.sig.result_types, "import " + qualified));
      info.kind = WINK_EXTERN_FUNC;
      return info;
    }
    case wabt::ExternalKind::Memory: {
      const auto* mi = wabt::cast<wabt::MemoryImport>(&imp);
      if (mi->memory.page_limits.is_64 || mi->memory.page_limits.is_shared)
        return make_error("module imports memory " + qualified + " as 64-bit or shared, which wink does not support");
      info.kind = WINK_EXTERN_MEMORY;
      info.min = mi->memory.page_limits.initial;
      info.max = limit_max(mi->memory.page_limits);
      return info;
    }
    case wabt::ExternalKind::Table: {
      const auto* ti = wabt::cast<wabt::TableImport>(&imp);
      auto c = type_char(ti->table.elem_type);
      if (!c || (*c != 'r' && *c != 'e'))
        return make_error("module imports table " + qualified + " of an unsupported element type");
      info.kind = WINK_EXTERN_TABLE;
      info.params = std::string(1, *c);
      info.min = ti->table.elem_limits.initial;
      info.max = limit_max(ti->table.elem_limits);
      return info;
    }
    case wabt::ExternalKind::Global: {
      const auto* gi = wabt::cast<wabt::GlobalImport>(&imp);
      auto c = type_char(gi->global.type);
      if (!c) return make_error("module imports global " + qualified + " of an unsupported type");
      info.kind = WINK_EXTERN_GLOBAL;
      info.params = std::string(1, *c);
      if (gi->global.mutable_) info.results = "m";
      return info;
    }
    case wabt::ExternalKind::Tag: break;
  }
  return make_error("module imports tag " + qualified + ", which wink does not support");
}

}  // namespace

uint64_t code_section_size(std::span<const uint8_t> wasm) {
  if (wasm.size() < 8) return 0;
  return SectionMap(wasm).code_bytes();
}

std::string describe_signature(const std::string& params, const std::string& results) {
  const std::string result_names = runtime::signature_type_names(results, ",");
  return "(" + runtime::signature_type_names(params, ",") + ")->" +
         (results.size() == 1 ? result_names : "(" + result_names + ")");
}

Result<ParsedModule> parse_module(std::span<const uint8_t> wasm,
                                  std::span<const runtime::HostImport> host_imports, bool linked) {
  static const uint8_t kMagic[4] = {0x00, 0x61, 0x73, 0x6d};
  if (wasm.size() >= 4 && !std::equal(kMagic, kMagic + 4, wasm.begin())) {
    char got[64];
    std::snprintf(got, sizeof got, "%02x %02x %02x %02x", wasm[0], wasm[1], wasm[2], wasm[3]);
    return make_error(std::string("not a WebAssembly module: bad magic (expected 00 61 73 6d "
                                  "\"\\0asm\", got ") + got + ") at byte offset 0");
  }
  if (wasm.size() < 8)
    return make_error("truncated module: " + std::to_string(wasm.size()) +
                      " bytes, a module starts with 8 (magic and version)");
  if (wasm[4] != 1 || wasm[5] != 0 || wasm[6] != 0 || wasm[7] != 0)
    return make_error("unsupported WebAssembly binary version at byte offset 4 (only version 1)");

  SectionMap map(wasm);
  // Features: wabt's defaults minus SIMD, which the 1.0.32 C writer cannot
  // translate (it aborts); threads, exceptions, tail calls, memory64 and
  // multi-memory are off by default and stay off.
  if (auto early = check_before_ir(wasm); !early.ok()) return make_error("invalid module: " + early.error().message);
  wabt::Features features;
  features.disable_simd();
  wabt::Errors errors;
  ParsedModule out;
  out.ir = std::make_unique<wabt::Module>();
  wabt::ReadBinaryOptions read_options(features, nullptr, /*read_debug_names=*/true,
                                       /*stop_on_first_error=*/true,
                                       /*fail_on_custom_section_error=*/false);
  if (wabt::Failed(wabt::ReadBinaryIr("module.wasm", wasm.data(), wasm.size(), read_options,
                                      &errors, out.ir.get())))
    return wabt_error(errors, map, "invalid module");
  wabt::ValidateOptions validate_options(features);
  if (wabt::Failed(wabt::ValidateModule(out.ir.get(), &errors, validate_options)))
    return wabt_error(errors, map, "invalid module");
  if (auto gaps = check_spec_gaps(wasm, *out.ir); !gaps.ok())
    return make_error("invalid module: " + gaps.error().message);
  // As wasm2c does: give every item a name, then use names in place of indices.
  if (wabt::Failed(wabt::GenerateNames(out.ir.get())))
    return make_error("internal error: cannot name the module's items");
  (void)wabt::ApplyNames(out.ir.get());

  wabt::Module& m = *out.ir;
  // wasm2c 1.0.32 copies import and export names unescaped into C comments
  // (`/* export: 'NAME' */`): a name holding "*/" would close the comment and
  // put its rest into the compiled C (code run inside wink), a line break
  // would break the header's shape. Refuse both.
  auto unsafe_name = [](const std::string& n) {
    return n.find("*/") != std::string::npos || n.find('\n') != std::string::npos ||
           n.find('\r') != std::string::npos;
  };
  for (const wabt::Import* imp : m.imports)
    if (unsafe_name(imp->module_name) || unsafe_name(imp->field_name))
      return make_error("import names holding \"*/\" or a line break are not supported (wasm2c 1.0.32 "
                        "writes them into C comments unescaped)");
  for (const wabt::Export* exp : m.exports)
    if (unsafe_name(exp->name))
      return make_error("export names holding \"*/\" or a line break are not supported (wasm2c 1.0.32 "
                        "writes them into C comments unescaped)");
  std::set<std::string> seen_modules;
  out.linked = linked;
  std::map<std::pair<std::string, std::string>, size_t> seen_imports;  // -> index in out.imports
  for (const wabt::Import* imp : m.imports) {
    std::string qualified = imp->module_name + "." + imp->field_name;
    if (linked) {
      WINK_ASSIGN_OR_RETURN(ImportInfo info, linked_import(*imp, qualified));
      // wasm2c names an import by (module, name): one symbol per pair, whose
      // definition reads the first such import's slot (codegen.cpp). Two
      // imports of one name with different types would need two symbols
      // (wasm2c 1.0.32 aborts on them).
      auto [first, fresh] = seen_imports.emplace(std::pair(imp->module_name, imp->field_name), out.imports.size());
      if (!fresh) {
        const ImportInfo& was = out.imports[first->second];
        if (was.kind != info.kind || was.params != info.params || was.results != info.results)
          return make_error("module imports " + qualified + " twice with different types, which wasm2c "
                            "1.0.32 cannot translate");
      }
      out.imports.push_back(std::move(info));
      if (seen_modules.insert(imp->module_name).second) out.import_modules.push_back(imp->module_name);
      continue;
    }
    if (imp->kind() != wabt::ExternalKind::Func)
      return make_error("module imports " + std::string(kind_name(imp->kind())) + " " + qualified +
                        ", but wink only provides function imports (a module must define its "
                        "own memory, tables and globals)");
    const auto* fi = wabt::cast<wabt::FuncImport>(imp);
    auto params = types_string(fi->func.decl.sig.param_types, "import " + qualified);
    auto results = types_string(fi->func.decl.sig.result_types, "import " + qualified);
    if (!params.ok()) return std::move(params).error();
    if (!results.ok()) return std::move(results).error();
    std::string sig = describe_signature(*params, *results);
    auto host = std::find_if(host_imports.begin(), host_imports.end(), [&](const auto& h) {
      return h.module == imp->module_name && h.name == imp->field_name;
    });
    if (host == host_imports.end())
      return make_error("module imports " + qualified + " " + sig + ", which wink does not provide");
    if (host->params != *params || host->results != *results)
      return make_error("module imports " + qualified + " " + sig + ", but wink provides " +
                        qualified + " " +
                        describe_signature(std::string(host->params), std::string(host->results)));
    if (seen_modules.insert(imp->module_name).second) out.import_modules.push_back(imp->module_name);
  }

  for (const wabt::Export* exp : m.exports) {
    ExportInfo info;
    info.name = exp->name;
    switch (exp->kind) {
      case wabt::ExternalKind::Func: {
        const wabt::Func* f = m.GetFunc(exp->var);
        if (!f) return make_error("export " + exp->name + " names a missing function");
        auto params = types_string(f->decl.sig.param_types, "exported function " + exp->name);
        auto results = types_string(f->decl.sig.result_types, "exported function " + exp->name);
        if (!params.ok()) return std::move(params).error();
        if (!results.ok()) return std::move(results).error();
        // Funcrefs cross the export boundary as opaque identities, and only
        // null goes in (wink_funcref_identity/argument, artifact_abi.h).
        info.kind = WINK_EXTERN_FUNC;
        info.params = *params;
        info.results = *results;
        break;
      }
      case wabt::ExternalKind::Memory: info.kind = WINK_EXTERN_MEMORY; break;
      case wabt::ExternalKind::Table: {
        info.kind = WINK_EXTERN_TABLE;
        const wabt::Table* t = m.GetTable(exp->var);
        if (auto c = t ? type_char(t->elem_type) : std::nullopt) info.params = std::string(1, *c);
        break;
      }
      case wabt::ExternalKind::Global: {
        const wabt::Global* g = m.GetGlobal(exp->var);
        if (!g) return make_error("export " + exp->name + " names a missing global");
        auto c = type_char(g->type);
        if (!c) return make_error("exported global " + exp->name + " has an unsupported type");
        info.kind = WINK_EXTERN_GLOBAL;
        info.params = std::string(1, *c);
        if (g->mutable_) info.results = "m";
        break;
      }
      case wabt::ExternalKind::Tag:
        return make_error("module exports tag " + exp->name + ", which wink does not support");
    }
    out.exports.push_back(std::move(info));
  }
  out.has_memory = !m.memories.empty();
  out.has_start = !m.starts.empty();
  out.code_bytes = map.code_bytes();
  for (const wabt::DataSegment* d : m.data_segments) out.data_bytes += d->data.size();
  out.num_functions = static_cast<uint32_t>(m.funcs.size() - m.num_func_imports);
  return out;
}

}  // namespace wink::compiler
