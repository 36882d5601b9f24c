// Scans the type, import, function and export sections of a core module.
#include "component/core_module.h"

namespace wink::component {

Result<std::optional<CoreValType>> read_core_val_type(Reader& r) {
  uint64_t at = r.offset();
  WINK_ASSIGN_OR_RETURN(uint8_t b, r.byte());
  switch (b) {
    case 0x7f: return std::optional<CoreValType>(CoreValType::I32);
    case 0x7e: return std::optional<CoreValType>(CoreValType::I64);
    case 0x7d: return std::optional<CoreValType>(CoreValType::F32);
    case 0x7c: return std::optional<CoreValType>(CoreValType::F64);
    case 0x7b:  // v128
    case 0x70: case 0x6f: case 0x6e: case 0x6d: case 0x6c: case 0x6b: case 0x6a:
    case 0x71: case 0x72: case 0x73: case 0x69: case 0x74:  // abbreviated reference types
      return std::optional<CoreValType>();
    case 0x63: case 0x64: {  // (ref null? heaptype)
      WINK_TRY(r.s33());
      return std::optional<CoreValType>();
    }
    default:
      return r.error_at(at, "unknown core value type " + hex_byte(b));
  }
}

Result<std::optional<CoreFuncSig>> read_core_func_type_body(Reader& r) {
  CoreFuncSig sig;
  bool known = true;
  for (auto* list : {&sig.params, &sig.results}) {
    WINK_ASSIGN_OR_RETURN(uint32_t n, r.count("core value type"));
    for (uint32_t i = 0; i < n; ++i) {
      WINK_ASSIGN_OR_RETURN(auto t, read_core_val_type(r));
      if (t) {
        list->push_back(*t);
      } else {
        known = false;
      }
    }
  }
  if (!known) return std::optional<CoreFuncSig>();
  return std::optional<CoreFuncSig>(std::move(sig));
}

namespace {

Result<void> skip_limits(Reader& r) {
  uint64_t at = r.offset();
  WINK_ASSIGN_OR_RETURN(uint8_t flags, r.byte());
  if (flags & ~0x0Fu) return r.error_at(at, "unknown limits flags " + hex_byte(flags));
  bool is64 = flags & 0x04;
  if (is64) {
    WINK_TRY(r.u64());
  } else {
    WINK_TRY(r.u32());
  }
  if (flags & 0x01) {
    if (is64) {
      WINK_TRY(r.u64());
    } else {
      WINK_TRY(r.u32());
    }
  }
  if (flags & 0x08) WINK_TRY(r.u32());  // custom page size (log2)
  return {};
}

}  // namespace

Result<void> skip_core_extern_desc(Reader& r, CoreSort kind) {
  switch (kind) {
    case CoreSort::Table:
      WINK_TRY(read_core_val_type(r));
      return skip_limits(r);
    case CoreSort::Memory:
      return skip_limits(r);
    case CoreSort::Global: {
      WINK_TRY(read_core_val_type(r));
      uint64_t at = r.offset();
      WINK_ASSIGN_OR_RETURN(uint8_t mut, r.byte());
      if (mut > 1) return r.error_at(at, "unknown global mutability " + hex_byte(mut));
      return {};
    }
    case CoreSort::Tag: {
      uint64_t at = r.offset();
      WINK_ASSIGN_OR_RETURN(uint8_t attr, r.byte());
      if (attr != 0) return r.error_at(at, "unknown tag attribute " + hex_byte(attr));
      WINK_TRY(r.u32());
      return {};
    }
    default:
      return r.error("not an extern descriptor");
  }
}

Result<CoreModuleInfo> scan_core_module(std::span<const uint8_t> bytes, uint64_t offset) {
  Reader r(bytes, offset, "core module");
  static const uint8_t header[8] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  WINK_ASSIGN_OR_RETURN(auto head, r.bytes(8));
  if (!std::equal(head.begin(), head.end(), header)) return r.error_at(offset, "core module header is not \\0asm 1.0");

  std::vector<std::optional<CoreFuncSig>> types;
  bool types_known = true;
  std::vector<uint32_t> func_types;  // imported funcs first, then defined
  CoreModuleInfo info;
  while (!r.at_end()) {
    uint64_t at = r.offset();
    WINK_ASSIGN_OR_RETURN(uint8_t id, r.byte());
    WINK_ASSIGN_OR_RETURN(uint32_t size, r.u32());
    WINK_ASSIGN_OR_RETURN(Reader s, r.sub(size, "core module section " + std::to_string(id)));
    if (id == 1) {  // types
      WINK_ASSIGN_OR_RETURN(uint32_t n, s.count("core type"));
      for (uint32_t i = 0; i < n && types_known; ++i) {
        WINK_ASSIGN_OR_RETURN(uint8_t form, s.byte());
        if (form != 0x60) {
          types_known = false;  // GC rec/sub types: signatures stay unknown
          break;
        }
        WINK_ASSIGN_OR_RETURN(auto sig, read_core_func_type_body(s));
        types.push_back(std::move(sig));
      }
    } else if (id == 2) {  // imports
      WINK_ASSIGN_OR_RETURN(uint32_t n, s.count("core import", 3));
      for (uint32_t i = 0; i < n; ++i) {
        CoreImportDecl d;
        WINK_ASSIGN_OR_RETURN(d.module, s.name());
        WINK_ASSIGN_OR_RETURN(d.name, s.name());
        uint64_t kat = s.offset();
        WINK_ASSIGN_OR_RETURN(uint8_t kind, s.byte());
        if (kind > 4) return s.error_at(kat, "unknown import kind " + hex_byte(kind));
        d.kind = static_cast<CoreSort>(kind);
        if (d.kind == CoreSort::Func) {
          WINK_ASSIGN_OR_RETURN(uint32_t t, s.u32());
          func_types.push_back(t);
          if (types_known && t < types.size()) d.func = types[t];
        } else {
          WINK_TRY(skip_core_extern_desc(s, d.kind));
        }
        info.imports.push_back(std::move(d));
      }
    } else if (id == 3) {  // functions
      WINK_ASSIGN_OR_RETURN(uint32_t n, s.count("function"));
      for (uint32_t i = 0; i < n; ++i) {
        WINK_ASSIGN_OR_RETURN(uint32_t t, s.u32());
        func_types.push_back(t);
      }
    } else if (id == 7) {  // exports
      WINK_ASSIGN_OR_RETURN(uint32_t n, s.count("core export", 3));
      for (uint32_t i = 0; i < n; ++i) {
        CoreExportDecl d;
        WINK_ASSIGN_OR_RETURN(d.name, s.name());
        uint64_t kat = s.offset();
        WINK_ASSIGN_OR_RETURN(uint8_t kind, s.byte());
        if (kind > 4) return s.error_at(kat, "unknown export kind " + hex_byte(kind));
        d.kind = static_cast<CoreSort>(kind);
        WINK_ASSIGN_OR_RETURN(uint32_t index, s.u32());
        if (d.kind == CoreSort::Func && types_known && index < func_types.size() &&
            func_types[index] < types.size()) {
          d.func = types[func_types[index]];
        }
        info.exports.push_back(std::move(d));
      }
    } else if (id > 13 && id != 0) {
      return r.error_at(at, "unknown core section id " + std::to_string(id));
    }
  }
  return info;
}

}  // namespace wink::component
