// wasm2c output -> split translation units + data blob + glue.
//
// The shape of wasm2c 1.0.32's C file, which the splitter relies on:
//   prologue   includes, macros, static inline helpers (up to the line
//              `static bool s_module_initialized`)
//   items      top-level declarations and definitions: func_types, forward
//              declarations of every `static ... w2c_<name>(...)`, data and
//              elem segment arrays, init_* functions, function bodies, export
//              wrappers, Z_guest_init_module/instantiate/free.
// Every part includes a shared header (prologue + the declarations it uses,
// de-static'ed and hidden); function bodies are spread over parts by size;
// everything else goes to the main part. When the expected shape is not
// found, the whole file is compiled as one part (correct, only slower).
#include "compiler/codegen.h"

#include <wabt/c-writer.h>
#include <wabt/ir.h>
#include <wabt/stream.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "common/version.h"
#include "compiler/c_text.h"
#include "compiler/ranged_translation.h"
#include "compiler/artifact_abi_text.h"
#include "runtime/artifact_abi.h"

namespace wink::compiler {

std::string wasm2c_mangle(std::string_view name) {
  std::string out;
  for (unsigned char c : name) {
    if ((std::isalnum(c) || c == '_') && c != 'Z') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%02X", c);
      out += 'Z';
      out += buf;
    }
  }
  return out;
}

namespace {

constexpr const char* kHeaderName = "guest.h";

using c_text::Item;
using c_text::name_before_paren;
using c_text::split_items;
using c_text::starts_with;
using c_text::trim_right;

// Name of a variable from `static T name[...] = ...` / `static T name;`.
std::string_view variable_name(std::string_view head) {
  size_t e = head.find_first_of("[=;");
  if (e == std::string_view::npos) return {};
  while (e > 0 && head[e - 1] == ' ') --e;
  size_t b = e;
  while (b > 0 && (std::isalnum(static_cast<unsigned char>(head[b - 1])) || head[b - 1] == '_')) --b;
  return head.substr(b, e - b);
}

// Parses "  0x2d, 0x2b, ..." rows of a data segment array.
void parse_hex_bytes(std::string_view item, std::vector<uint8_t>& out) {
  size_t p = item.find('{');
  size_t end = item.rfind('}');
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (; p < end; ++p) {
    if (item[p] == '0' && item[p + 1] == 'x') {
      int hi = hex(item[p + 2]), lo = hex(item[p + 3]);
      if (lo < 0) {  // single digit
        out.push_back(static_cast<uint8_t>(hi));
        p += 2;
      } else {
        out.push_back(static_cast<uint8_t>(hi * 16 + lo));
        p += 3;
      }
    }
  }
}

std::string c_string(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\' || c == '?' || c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\%03o", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

struct Split {
  std::string prologue;
  std::unordered_map<std::string, std::string> decls;  // name -> shared declaration
  std::vector<std::string> decl_order;
  std::unordered_map<std::string_view, size_t> decl_index;  // name -> position in decl_order
  std::string main_text;
  // Function definitions without their "static", as wasm2c wrote them (views
  // into its text), and their sizes once hoist_memory_base has run.
  std::vector<std::string_view> bodies;
  std::vector<size_t> body_sizes;
  std::string data_asm;
  std::vector<uint8_t> blob;
};

void add_decl(Split& s, std::string name, std::string decl) {
  if (s.decls.emplace(name, std::move(decl)).second) s.decl_order.push_back(std::move(name));
}

// Loads and stores in wasm2c's output read the memory's base pointer from the
// instance on every access, and every store (through u8*) may alias it, so
// the C compiler reloads it after each store and cannot vectorize. wink's
// memories never move (a slot is reserved for the largest size, and grow
// only changes protection), so a function may read the base once: accesses
// go through a local copy of the memory descriptor, which nothing aliases.
// memory.size/grow and bulk operations keep using the instance's descriptor.
// Returns the size of `body` with the base hoisted; appends that text to
// `out` when given (sizes balance the parts before any text is made).
size_t hoist_memory_base(std::string_view body, std::string* out) {
  static constexpr std::string_view kArg = "(&instance->w2c_memory,";
  static constexpr std::string_view kLocal = "(&wink_mem,";
  static constexpr std::string_view kHoist = "\n  wasm_rt_memory_t wink_mem = instance->w2c_memory;";
  std::string text;
  if (out) text.reserve(body.size() + kHoist.size());
  size_t pos = 0, accesses = 0;
  for (size_t hit; (hit = body.find(kArg, pos)) != std::string_view::npos; pos = hit + kArg.size()) {
    size_t start = hit;
    while (start > 0 && (std::isalnum(static_cast<unsigned char>(body[start - 1])) || body[start - 1] == '_')) {
      --start;
    }
    std::string_view callee(body.data() + start, hit - start);
    bool access = callee.size() > 4 && (callee[0] == 'i' || callee[0] == 'f') &&
                  (callee.substr(1, 3) == "32_" || callee.substr(1, 3) == "64_") &&
                  (callee.substr(4, 4) == "load" || callee.substr(4, 5) == "store");
    if (out) {
      text.append(body.substr(pos, hit - pos));
      text.append(access ? kLocal : kArg);
    }
    accesses += access;
  }
  size_t size = body.size() - accesses * (kArg.size() - kLocal.size()) + (accesses ? kHoist.size() : 0);
  if (!out) return size;
  if (!accesses) {
    out->append(body);
    return size;
  }
  text.append(body.substr(pos));
  text.insert(text.find('{') + 1, kHoist);
  out->append(text);
  return size;
}

// Returns false when the output does not have the expected shape.
bool split_c(std::string_view c, Split& s) {
  size_t prologue_end = c.find("\nstatic bool s_module_initialized");
  if (prologue_end == std::string_view::npos) return false;
  s.prologue = std::string(c.substr(0, prologue_end + 1));
  std::vector<Item> items = split_items(c.substr(prologue_end + 1));
  s.data_asm =
      "/* Data segments of the module, kept out of the C. */\n"
      "\t.section .note.GNU-stack,\"\",@progbits\n"
      "\t.section .rodata.wink_data,\"a\",@progbits\n";
  for (const Item& item : items) {
    // The head: text up to the first '{' or ';', on one line (wasm2c wraps
    // long parameter lists over several lines).
    size_t head_end = item.text.find_first_of("{;");
    std::string head_storage(item.text.substr(0, head_end == std::string_view::npos
                                                     ? item.text.size() : head_end + 1));
    std::replace(head_storage.begin(), head_storage.end(), '\n', ' ');
    std::string_view head = trim_right(head_storage);
    if (starts_with(head, "static const u8 data_segment_data_")) {
      std::string name(variable_name(head));
      size_t offset = s.blob.size();
      parse_hex_bytes(item.text, s.blob);
      size_t len = s.blob.size() - offset;
      s.data_asm += "\t.globl " + name + "\n\t.hidden " + name + "\n\t.type " + name +
                    ",@object\n\t.balign 16\n" + name + ":\n";
      if (len) s.data_asm += "\t.incbin \"data.bin\", " + std::to_string(offset) + ", " +
                             std::to_string(len) + "\n";
      else s.data_asm += "\t.byte 0\n";
      s.data_asm += "\t.size " + name + ", " + std::to_string(len) + "\n";
      add_decl(s, name, "extern const u8 " + name + "[];\n");
      continue;
    }
    bool is_static = starts_with(head, "static ");
    bool is_array_init = head.find("] = {") != std::string_view::npos ||
                         (head.find('=') != std::string_view::npos &&
                          head.find('=') < head.find('(') );
    bool has_paren = head.find('(') != std::string_view::npos;
    if (head.back() == '{' && has_paren && !is_array_init) {  // function definition
      std::string name(name_before_paren(head));
      if (is_static && starts_with(name, "w2c_")) {
        s.bodies.push_back(item.text.substr(7));  // drop "static "
        s.body_sizes.push_back(hoist_memory_base(s.bodies.back(), nullptr));
      } else if (is_static && s.decls.count(name)) {
        // A guest function wasm2c named without the w2c_ prefix (a name
        // section entry like "_"): its prototype was made non-static above.
        s.main_text += std::string(item.text.substr(7)) + "\n";
      } else {
        s.main_text += item.text;
        s.main_text += "\n";
      }
      continue;
    }
    if (has_paren && !is_array_init && trim_right(item.text).back() == ';') {  // prototype
      std::string name(name_before_paren(head));
      std::string decl(is_static ? item.text.substr(7) : item.text);
      add_decl(s, name, decl);
      continue;
    }
    if (is_static) {
      // variable: defined (non-static) in main, declared extern in the parts
      std::string name(variable_name(head));
      std::string_view def = item.text.substr(7);
      s.main_text += std::string(def) + "\n";
      std::string_view declarator = def.substr(0, std::min(def.find(" ="), def.find(';')));
      add_decl(s, name, "extern " + std::string(declarator) + ";\n");
      continue;
    }
    s.main_text += item.text;
    s.main_text += "\n";
  }
  for (size_t i = 0; i < s.decl_order.size(); ++i) s.decl_index.emplace(s.decl_order[i], i);
  return true;
}

// Declarations used by `text`: every identifier that names a shared item.
std::string decls_for(const Split& s, std::string_view text, bool all) {
  std::string out = "#pragma GCC visibility push(hidden)\n";
  if (all) {
    for (const std::string& n : s.decl_order) out += s.decls.at(n);
  } else {
    std::vector<bool> used(s.decl_order.size(), false);
    // Macros of the prologue (CALL_INDIRECT uses func_types) count as uses.
    std::string_view scan_texts[2] = {s.prologue, text};
    for (std::string_view t : scan_texts) {
      for (size_t p = 0; p < t.size();) {
        unsigned char c = t[p];
        if (std::isalpha(c) || c == '_') {
          size_t b = p;
          while (p < t.size() && (std::isalnum(static_cast<unsigned char>(t[p])) || t[p] == '_')) ++p;
          if (auto it = s.decl_index.find(t.substr(b, p - b)); it != s.decl_index.end())
            used[it->second] = true;
        } else {
          ++p;
        }
      }
    }
    for (size_t i = 0; i < s.decl_order.size(); ++i)
      if (used[i]) out += s.decls.at(s.decl_order[i]);
  }
  return out + "#pragma GCC visibility pop\n";
}

// A field of the instance struct that is not plain data (for snapshots).
struct InstanceField {
  uint32_t kind;                // wink_field_kind_t
  std::string import_module;    // WINK_FIELD_IMPORT_INSTANCE: mangled module name
  std::string name;             // C field name (empty for WINK_FIELD_UNKNOWN)
  std::string decl;             // the C declaration, for error messages
};

struct HeaderFacts {
  std::vector<std::string> export_symbols;   // in export order
  std::vector<InstanceField> fields;          // struct order
  std::string memory_field;                  // instance field of memory 0
  std::vector<std::string> instantiate_modules;  // mangled, in parameter order
  uint32_t funcref_globals = 0, externref_globals = 0;
};

// The explicit list: what each C type wasm2c 1.0.32 puts in the instance
// struct is. Numeric globals are plain data (copied as is); everything that
// holds a pointer has its own kind, so a snapshot can fix it up or refuse it.
// A type not on the list becomes WINK_FIELD_UNKNOWN (never plain data): the
// engine refuses to snapshot such a module and names the field.
constexpr uint32_t kPlainData = ~0u;
uint32_t field_kind(std::string_view type, std::string_view decl) {
  static constexpr std::string_view kPlain[] = {"u8", "u16", "u32", "u64", "s8", "s16", "s32",
                                                "s64", "f32", "f64", "v128"};
  static constexpr std::string_view kPointee[] = {
      "u32", "u64", "f32", "f64", "v128", "wasm_rt_memory_t", "wasm_rt_funcref_table_t",
      "wasm_rt_externref_table_t", "wasm_rt_funcref_t", "wasm_rt_externref_t"};
  for (std::string_view p : kPlain)
    if (type == p) return kPlainData;
  // wasm2c's placeholder in the struct of a module with no state at all.
  if (decl == "char dummy_member;") return kPlainData;
  // `bool data_segment_dropped_w2c_d0 : 1;` (bit-field flags of segments)
  if (starts_with(decl, "bool ") && decl.find(':') != std::string_view::npos) return kPlainData;
  if (type == "wasm_rt_memory_t") return WINK_FIELD_MEMORY;
  if (type == "wasm_rt_funcref_table_t") return WINK_FIELD_FUNCREF_TABLE;
  if (type == "wasm_rt_externref_table_t") return WINK_FIELD_EXTERNREF_TABLE;
  if (type == "wasm_rt_funcref_t") return WINK_FIELD_FUNCREF_GLOBAL;
  if (type == "wasm_rt_externref_t") return WINK_FIELD_EXTERNREF_GLOBAL;
  if (starts_with(type, "struct Z_") && type.ends_with("_instance_t*")) return WINK_FIELD_IMPORT_INSTANCE;
  if (type.ends_with("*")) {
    std::string_view pointee = trim_right(type.substr(0, type.size() - 1));
    for (std::string_view p : kPointee)
      if (pointee == p) return WINK_FIELD_IMPORTED_OBJECT;
  }
  return WINK_FIELD_UNKNOWN;
}

Result<HeaderFacts> read_header(std::string_view h) {
  HeaderFacts f;
  size_t p = 0;
  while ((p = h.find("/* export: ", p)) != std::string_view::npos) {
    size_t eol = h.find('\n', p);
    size_t eol2 = h.find('\n', eol + 1);
    std::string_view decl = h.substr(eol + 1, eol2 - eol - 1);
    f.export_symbols.emplace_back(name_before_paren(decl));
    p = eol2;
  }
  size_t s = h.find("typedef struct Z_guest_instance_t {");
  size_t e = h.find("} Z_guest_instance_t;", s);
  if (s == std::string_view::npos || e == std::string_view::npos)
    return make_error("internal error: wasm2c header has no instance struct");
  std::string_view body = h.substr(s, e - s);
  // One field per line: "  <type> <name>;" or "  bool <name> : 1;".
  for (size_t q = body.find('\n'); q != std::string_view::npos && q + 1 < body.size();) {
    size_t eol = body.find('\n', q + 1);
    std::string_view line = body.substr(q + 1, (eol == std::string_view::npos ? body.size() : eol) - q - 1);
    q = eol;
    std::string_view decl = trim_right(line);
    while (!decl.empty() && decl.front() == ' ') decl.remove_prefix(1);
    if (decl.empty()) continue;
    // wasm2c's own comments (`/* import: 'shim' '$imports' */` before an
    // imported object's field) are not fields.
    if (decl.starts_with("/*") && decl.ends_with("*/") && decl.find("*/") == decl.size() - 2) continue;
    if (decl.back() != ';') {
      f.fields.push_back({WINK_FIELD_UNKNOWN, "", "", std::string(decl)});
      continue;
    }
    std::string_view head = trim_right(decl.substr(0, decl.size() - 1));
    size_t b = head.size();
    while (b > 0 && (std::isalnum(static_cast<unsigned char>(head[b - 1])) || head[b - 1] == '_')) --b;
    std::string name(head.substr(b));
    std::string_view type = trim_right(head.substr(0, b));
    uint32_t kind = field_kind(type, decl);
    if (kind == kPlainData) continue;
    if (kind == WINK_FIELD_UNKNOWN || name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) {
      f.fields.push_back({WINK_FIELD_UNKNOWN, "", "", std::string(decl)});
      continue;
    }
    std::string mod;
    if (kind == WINK_FIELD_IMPORT_INSTANCE) {
      mod = type.substr(std::strlen("struct Z_"));
      mod.resize(mod.size() - std::strlen("_instance_t*"));
    }
    if (kind == WINK_FIELD_FUNCREF_GLOBAL) ++f.funcref_globals;
    if (kind == WINK_FIELD_EXTERNREF_GLOBAL) ++f.externref_globals;
    f.fields.push_back({kind, mod, name, std::string(decl)});
  }
  size_t m = body.find("  wasm_rt_memory_t w2c_");
  if (m != std::string_view::npos) {
    size_t b = m + std::strlen("  wasm_rt_memory_t ");
    f.memory_field = std::string(body.substr(b, body.find(';', b) - b));
  }
  size_t inst = h.find("void Z_guest_instantiate(");
  if (inst == std::string_view::npos) return make_error("internal error: no instantiate in header");
  std::string_view proto = h.substr(inst, h.find(';', inst) - inst);
  for (size_t q = 0; (q = proto.find("struct Z_", q)) != std::string_view::npos;) {
    q += std::strlen("struct Z_");
    size_t end = proto.find("_instance_t*", q);
    f.instantiate_modules.emplace_back(proto.substr(q, end - q));
    q = end;
  }
  return f;
}

std::string multi_letter(char c) {
  switch (c) {
    case 'i': return "i";
    case 'I': return "j";
    case 'f': return "f";
    case 'F': return "d";
    case 'r': return "r";
    default: return "e";
  }
}

// A value of type `c` from the 64-bit slot expression `a`.
std::string from_slot(char c, const std::string& a) {
  switch (c) {
    case 'i': return "(u32)" + a;
    case 'I': return "(u64)" + a;
    case 'f': return "wink_to_f32(" + a + ")";
    case 'F': return "wink_to_f64(" + a + ")";
    case 'r': return "wink_funcref_argument(" + a + ")";
    default: return "(wasm_rt_externref_t)(uintptr_t)" + a;
  }
}

std::string arg_expr(char c, size_t k) { return from_slot(c, "a[" + std::to_string(k) + "]"); }

std::string result_expr(char c, const std::string& v) {
  switch (c) {
    case 'i': return "(uint64_t)" + v;
    case 'I': return "(uint64_t)" + v;
    case 'f': return "wink_from_f32(" + v + ")";
    case 'F': return "wink_from_f64(" + v + ")";
    case 'r': return "wink_funcref_identity(&" + v + ")";
    default: return "(uint64_t)(uintptr_t)" + v;
  }
}

// The C symbol wasm2c gives an import (and the instance field holding an
// imported memory/table/global).
std::string import_symbol(const std::string& module, const std::string& name) {
  return "Z_" + wasm2c_mangle(module) + "Z_" + wasm2c_mangle(name);
}

// C type of a value in wasm2c's signatures, and its letter in multi-value
// result structs (wasm2c's MangleType).
const char* c_type(char t) {
  switch (t) {
    case 'i': return "u32";
    case 'I': return "u64";
    case 'f': return "f32";
    case 'F': return "f64";
    case 'r': return "wasm_rt_funcref_t";
    default: return "wasm_rt_externref_t";
  }
}
char mangled_type(char t) {
  switch (t) {
    case 'i': return 'i';
    case 'I': return 'j';
    case 'f': return 'f';
    case 'F': return 'd';
    case 'r': return 'r';
    default: return 'e';
  }
}

// Linked modules: the definition of every import symbol, reading the
// instance's link table (every import module's instance pointer is that
// table). A function import calls the slot's native target directly, or the
// slot's generic host trampoline with 64-bit slots (numeric signatures with
// at most one result: the only ones the linker binds to the host).
std::string link_bridges(const ParsedModule& module) {
  std::string g = "\n/* Link bridges: imports bound per instance (artifact_abi.h, wink_link_slot_t). */\n";
  // Slot 0 points to the table itself: see wink_artifact_t::linked.
  g += "#define WINK_SLOT(link, k) (&(*(const wink_link_slot_t* const*)(const void*)(link))[(k) + 1])\n";
  std::unordered_set<std::string> defined;
  for (size_t k = 0; k < module.imports.size(); ++k) {
    const ImportInfo& imp = module.imports[k];
    std::string sym = import_symbol(imp.module, imp.name);
    // A (module, name) imported again (same type, see parse_module) is the
    // same wasm2c symbol: the first import's slot serves both.
    if (!defined.insert(sym).second) continue;
    std::string link = "struct Z_" + wasm2c_mangle(imp.module) + "_instance_t* link";
    std::string slot = "WINK_SLOT(link, " + std::to_string(k) + ")";
    switch (imp.kind) {
      case WINK_EXTERN_MEMORY:
        g += "wasm_rt_memory_t* " + sym + "(" + link + ") { return (wasm_rt_memory_t*)" + slot + "->target; }\n";
        continue;
      case WINK_EXTERN_TABLE: {
        std::string t = imp.params == "r" ? "wasm_rt_funcref_table_t" : "wasm_rt_externref_table_t";
        g += t + "* " + sym + "(" + link + ") { return (" + t + "*)" + slot + "->target; }\n";
        continue;
      }
      case WINK_EXTERN_GLOBAL: {
        std::string t = c_type(imp.params[0]);
        g += t + "* " + sym + "(" + link + ") { return (" + t + "*)" + slot + "->target; }\n";
        continue;
      }
      default: break;
    }
    std::string ret = "void";
    if (imp.results.size() == 1) ret = c_type(imp.results[0]);
    if (imp.results.size() > 1) {
      ret = "struct wasm_multi_";
      for (char c : imp.results) ret += mangled_type(c);
    }
    std::string params, args, fn_type = ret + " (*)(void*";
    for (size_t i = 0; i < imp.params.size(); ++i) {
      params += ", " + std::string(c_type(imp.params[i])) + " a" + std::to_string(i);
      args += ", a" + std::to_string(i);
      fn_type += std::string(", ") + c_type(imp.params[i]);
    }
    fn_type += ")";
    g += ret + " " + sym + "(" + link + params + ") {\n";
    g += "  const wink_link_slot_t* s = " + slot + ";\n";
    g += "  if (s->target) " + std::string(ret == "void" ? "{ " : "return ") + "((" + fn_type + ")s->target)(s->instance" +
         args + ");" + (ret == "void" ? " return; }" : "") + "\n";
    bool numeric = imp.params.find_first_of("re") == std::string::npos &&
                   imp.results.find_first_of("re") == std::string::npos && imp.results.size() <= 1;
    if (!numeric) {
      g += "  wasm_rt_trap(WASM_RT_TRAP_CALL_INDIRECT);\n}\n";
      continue;
    }
    g += "  uint64_t a[" + std::to_string(std::max<size_t>(imp.params.size(), 1)) + "] = {0};\n  uint64_t r[1] = {0};\n";
    for (size_t i = 0; i < imp.params.size(); ++i) {
      std::string v = "a" + std::to_string(i);
      g += "  a[" + std::to_string(i) + "] = " + result_expr(imp.params[i], v) + ";\n";
    }
    g += "  s->host(s->instance, a, r);\n";
    if (imp.results.size() == 1) g += "  return " + from_slot(imp.results[0], "r[0]") + ";\n";
    g += "}\n";
  }
  std::string table;
  for (const ImportInfo& imp : module.imports) {
    auto num = [](uint64_t v) { return v == UINT64_MAX ? std::string("UINT64_MAX") : std::to_string(v) + "ull"; };
    table += "  {" + c_string(imp.module) + ", " + c_string(imp.name) + ", " + std::to_string(imp.kind) + ", " +
             c_string(imp.params) + ", " + c_string(imp.results) + ", " + num(imp.min) + ", " + num(imp.max) + "},\n";
  }
  if (!table.empty()) g += "static const wink_import_t wink_imports[] = {\n" + table + "};\n";
  return g;
}

// wasm2c 1.0.32 ends Z_guest_instantiate with the call of the module's start
// function ("  w2c_f2(instance);"). That call moves into its own function,
// Z_guest_wink_start, which the engine runs once the host contexts have the
// instance's memory: the start function's WASI calls then see guest memory,
// as in other runtimes. False (the text unchanged, the start function run by
// instantiate as before) for another shape, e.g. an imported start function.
bool separate_start_call(std::string& text) {
  static constexpr std::string_view kInstantiate = "\nvoid Z_guest_instantiate(";
  static constexpr std::string_view kEnd = "\n}\n";
  static constexpr std::string_view kArg = "(instance);";
  const size_t at = text.find(kInstantiate);
  if (at == std::string::npos) return false;
  const size_t end = text.find(kEnd, at);
  if (end == std::string::npos) return false;
  const size_t line = text.rfind('\n', end - 1) + 1;
  std::string_view call = std::string_view(text).substr(line, end - line);
  while (!call.empty() && call.front() == ' ') call.remove_prefix(1);
  if (!starts_with(call, "w2c_") || !call.ends_with(kArg)) return false;
  for (char ch : call.substr(0, call.size() - kArg.size())) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_') return false;
  }
  const std::string start = "\nvoid Z_guest_wink_start(Z_guest_instance_t* instance) {\n  " + std::string(call) + "\n}\n";
  text.erase(line, end + 1 - line);  // the call's line
  text.insert(text.find(kEnd, at) + kEnd.size(), start);
  return true;
}

Result<Glue> write_glue(const ParsedModule& module, const HeaderFacts& facts, const CodegenOptions& options,
                        bool start_separated) {
  if (facts.export_symbols.size() != module.exports.size())
    return make_error("internal error: wasm2c declared " + std::to_string(facts.export_symbols.size()) +
                      " exports, the module has " + std::to_string(module.exports.size()));
  Glue glue;
  std::string& g = glue.text;
  g += "/* wink glue: the artifact descriptor (generated). */\n";
  g += "#include <stddef.h>\n#include <stdint.h>\n#include <string.h>\n#include \"guest.h\"\n#include \"wink_artifact_abi.h\"\n\n";
  g += "static inline f32 wink_to_f32(uint64_t s) { uint32_t b = (uint32_t)s; f32 v; memcpy(&v, &b, 4); return v; }\n";
  g += "static inline f64 wink_to_f64(uint64_t s) { f64 v; memcpy(&v, &s, 8); return v; }\n";
  g += "static inline uint64_t wink_from_f32(f32 v) { uint32_t b; memcpy(&b, &v, 4); return b; }\n";
  g += "static inline uint64_t wink_from_f64(f64 v) { uint64_t b; memcpy(&b, &v, 8); return b; }\n\n";
  std::string table;
  for (size_t i = 0; i < module.exports.size(); ++i) {
    const ExportInfo& e = module.exports[i];
    const std::string& sym = facts.export_symbols[i];
    std::string idx = std::to_string(i);
    std::string call = "NULL", get = "NULL";
    if (e.kind == WINK_EXTERN_FUNC) {
      call = "wink_call_" + idx;
      g += "static void " + call + "(void* instance, const uint64_t* a, uint64_t* r) {\n  ";
      std::string invoke = sym + "((Z_guest_instance_t*)instance";
      for (size_t k = 0; k < e.params.size(); ++k) invoke += ", " + arg_expr(e.params[k], k);
      invoke += ")";
      // __typeof__ (not evaluated), not __auto_type: TinyCC (the quick tier) has only the former.
      if (!e.results.empty()) g += "__typeof__(" + invoke + ") v = ";
      g += invoke + ";\n";
      if (e.results.size() == 1) {
        g += "  r[0] = " + result_expr(e.results[0], "v") + ";\n";
      } else {
        for (size_t k = 0; k < e.results.size(); ++k)
          g += "  r[" + std::to_string(k) + "] = " +
               result_expr(e.results[k], "v." + multi_letter(e.results[k]) + std::to_string(k)) + ";\n";
      }
      if (e.results.empty()) g += "  (void)r;\n";
      g += "}\n";
    } else {
      get = "wink_get_" + idx;
      g += "static void* " + get + "(void* instance) { return (void*)" + sym +
           "((Z_guest_instance_t*)instance); }\n";
    }
    std::string native = e.kind == WINK_EXTERN_FUNC ? "(void*)&" + sym : "NULL";
    table += "  {" + c_string(e.name) + ", " + std::to_string(e.kind) + ", " + c_string(e.params) +
             ", " + c_string(e.results) + ", " + call + ", " + get + ", " + native + "},\n";
  }
  // Import modules in the order Z_guest_instantiate takes them.
  std::vector<std::string> modules;
  for (const std::string& mangled : facts.instantiate_modules) {
    auto it = std::find_if(module.import_modules.begin(), module.import_modules.end(),
                           [&](const std::string& raw) { return wasm2c_mangle(raw) == mangled; });
    if (it == module.import_modules.end())
      return make_error("internal error: instantiate takes unknown import module " + mangled);
    modules.push_back(*it);
  }
  if (modules.size() != module.import_modules.size())
    return make_error("internal error: instantiate does not take every import module");
  g += "\nstatic void wink_instantiate(void* instance, void* const* imports) {\n";
  g += "  (void)imports;\n  Z_guest_instantiate((Z_guest_instance_t*)instance";
  for (size_t i = 0; i < modules.size(); ++i)
    g += ", (struct Z_" + wasm2c_mangle(modules[i]) + "_instance_t*)imports[" + std::to_string(i) + "]";
  g += ");\n}\n";
  g += "static void wink_free(void* instance) { Z_guest_free((Z_guest_instance_t*)instance); }\n";
  if (start_separated) {
    g += "void Z_guest_wink_start(Z_guest_instance_t* instance);\n"
         "static void wink_start(void* instance) { Z_guest_wink_start((Z_guest_instance_t*)instance); }\n";
  }
  if (module.linked) g += link_bridges(module);
  g += "static wasm_rt_memory_t* wink_memory(void* instance) {\n";
  const wabt::Import* memory_import = nullptr;
  for (const wabt::Import* import : module.ir->imports)
    if (!memory_import && import->kind() == wabt::ExternalKind::Memory) memory_import = import;
  if (memory_import) {  // linked modules only: memory 0 is the first imported memory
    g += "  return ((Z_guest_instance_t*)instance)->" + import_symbol(memory_import->module_name, memory_import->field_name) + ";\n}\n";
  } else if (module.has_memory) {
    if (facts.memory_field.empty()) return make_error("internal error: memory 0 not found in instance");
    g += "  return &((Z_guest_instance_t*)instance)->" + facts.memory_field + ";\n}\n";
  } else {
    g += "  (void)instance;\n  return NULL;\n}\n";
  }
  if (!modules.empty()) {
    g += "static const char* const wink_import_modules[] = {";
    for (const std::string& m : modules) g += c_string(m) + ", ";
    g += "};\n";
  }
  if (!table.empty()) g += "static const wink_export_t wink_exports[] = {\n" + table + "};\n";
  // For snapshots: the instance struct's fields that are not plain data,
  // the module's function types registered in the runtime, imported functions.
  // The field list must agree with the module: one funcref/externref
  // global field per defined global of that type (a disagreement means the
  // header's shape changed under us; refuse rather than guess).
  uint32_t funcref_globals = 0, externref_globals = 0;
  for (size_t i = module.ir->num_global_imports; i < module.ir->globals.size(); ++i) {
    wabt::Type t = module.ir->globals[i]->type;
    funcref_globals += t == wabt::Type::FuncRef;
    externref_globals += t == wabt::Type::ExternRef;
  }
  if (funcref_globals != facts.funcref_globals || externref_globals != facts.externref_globals)
    return make_error("internal error: the instance struct does not list the module's reference globals");
  std::string fields;
  for (const InstanceField& f : facts.fields) {
    uint32_t index = 0;
    if (f.kind == WINK_FIELD_IMPORT_INSTANCE) {
      auto it = std::find_if(modules.begin(), modules.end(),
                             [&](const std::string& raw) { return wasm2c_mangle(raw) == f.import_module; });
      if (it == modules.end()) return make_error("internal error: instance field for unknown import module " + f.import_module);
      index = static_cast<uint32_t>(it - modules.begin());
    }
    std::string offset = f.kind == WINK_FIELD_UNKNOWN ? "0" : "offsetof(Z_guest_instance_t, " + f.name + ")";
    fields += "  {" + std::to_string(f.kind) + ", " + std::to_string(index) + ", " + offset + ", " +
              c_string(f.decl) + "},\n";
  }
  if (!fields.empty()) g += "static const wink_instance_field_t wink_instance_fields[] = {\n" + fields + "};\n";
  // Imported functions with their bound addresses (snapshots name host
  // functions by these, never by a dynamic symbol lookup).
  std::string import_funcs;
  size_t num_import_funcs = 0;
  for (const wabt::Import* import : module.ir->imports) {
    if (import->kind() != wabt::ExternalKind::Func) continue;
    std::string sym = import_symbol(import->module_name, import->field_name);
    import_funcs += "  {" + c_string(import->module_name) + ", " + c_string(import->field_name) +
                    ", (wasm_rt_function_ptr_t)&" + sym + "},\n";
    ++num_import_funcs;
  }
  if (!import_funcs.empty()) g += "static const wink_import_func_t wink_import_funcs[] = {\n" + import_funcs + "};\n";
  std::string type_regs;
  size_t num_types = 0;
  for (const wabt::TypeEntry* entry : module.ir->types) {
    size_t index = num_types++;
    const auto* ft = wabt::FuncType::classof(entry) ? static_cast<const wabt::FuncType*>(entry) : nullptr;
    if (!ft) continue;
    auto rt = [](wabt::Type t) -> const char* {
      switch (t) {
        case wabt::Type::I32: return "WASM_RT_I32";
        case wabt::Type::I64: return "WASM_RT_I64";
        case wabt::Type::F32: return "WASM_RT_F32";
        case wabt::Type::F64: return "WASM_RT_F64";
        case wabt::Type::FuncRef: return "WASM_RT_FUNCREF";
        case wabt::Type::ExternRef: return "WASM_RT_EXTERNREF";
        default: return nullptr;
      }
    };
    std::string args = std::to_string(ft->sig.param_types.size()) + ", " + std::to_string(ft->sig.result_types.size());
    bool ok = true;
    for (wabt::Type t : ft->sig.param_types) ok = ok && rt(t), args += std::string(", ") + (rt(t) ? rt(t) : "0");
    for (wabt::Type t : ft->sig.result_types) ok = ok && rt(t), args += std::string(", ") + (rt(t) ? rt(t) : "0");
    if (ok) type_regs += "  wink_func_type_ids[" + std::to_string(index) + "] = wasm_rt_register_func_type(" + args + ");\n";
  }
  g += "static uint32_t wink_func_type_ids[" + std::to_string(std::max<size_t>(num_types, 1)) + "];\n";
  g += "static void wink_init_module(void) {\n  Z_guest_init_module();\n" + type_regs + "}\n";
  g += "\n__attribute__((visibility(\"default\"))) const wink_artifact_t wink_artifact = {\n";
  g += "  WINK_ARTIFACT_ABI,\n  " + c_string(kEngineVersion) + ",\n  " + c_string(options.module_hash) + ",\n  ";
  glue.flags_at = g.size();
  g += c_string(options.compile_flags);
  glue.flags_size = g.size() - glue.flags_at;
  g += ",\n";
  g += "  sizeof(Z_guest_instance_t),\n  wink_init_module,\n  wink_instantiate,\n  wink_free,\n"
       "  wink_memory,\n";
  g += "  " + std::to_string(modules.size()) + ", " + (modules.empty() ? "NULL" : "wink_import_modules") +
       ",\n";
  g += "  " + std::to_string(module.exports.size()) + ", " +
       (table.empty() ? "NULL" : "wink_exports") + ",\n";
  g += "  " + std::to_string(facts.fields.size()) + ", " + (fields.empty() ? "NULL" : "wink_instance_fields") + ",\n";
  g += "  " + std::to_string(num_types) + ", wink_func_type_ids,\n";
  g += "  " + std::to_string(num_import_funcs) + ", " + (import_funcs.empty() ? "NULL" : "wink_import_funcs") +
       ",\n";
  g += "  " + std::string(module.linked ? "1" : "0") + ", " + std::to_string(module.imports.size()) + ", " +
       (module.imports.empty() ? "NULL" : "wink_imports") + ",\n";
  g += "  " + std::string(module.has_start ? "1" : "0") + ", " + (start_separated ? "wink_start" : "NULL") + ",\n};\n";
  return glue;
}

}  // namespace

// wasm2c 1.0.32 puts an imported function into a table (element segments,
// active or passive) with the offset of the import-instance field as its
// instance, and funcref_table_init adds that offset to the guest instance: a
// call_indirect then hands the host function the address of the field (or,
// for the first field, the guest instance itself) instead of the host
// instance it points to. A guest could make any host import read its own
// instance struct as the host's context. The offsets of imported entries are
// tagged here, and funcref_table_init loads the pointer behind tagged ones.
// Unknown output with imported entries is refused rather than compiled wrong.
Result<void> bind_imported_elem_instances(std::string& text) {
  static constexpr std::string_view kImportedEntry = ", offsetof(Z_guest_instance_t, ";
  static constexpr std::string_view kTagged = ", ((size_t)1 << 63) | offsetof(Z_guest_instance_t, ";
  static constexpr std::string_view kInit = "(char*)module_instance + src_expr->module_offset};";
  static constexpr std::string_view kInitBound =
      "(src_expr->module_offset >> 63)\n"
      "            ? *(void**)((char*)module_instance + (src_expr->module_offset & ~((size_t)1 << 63)))\n"
      "            : (char*)module_instance + src_expr->module_offset};";
  // Most modules have none: then the text is not copied.
  if (text.find(kImportedEntry) == std::string::npos) return {};
  std::string_view c(text);
  std::string out;
  out.reserve(c.size() + 4096);
  size_t pos = 0;
  for (size_t hit; (hit = c.find(kImportedEntry, pos)) != std::string_view::npos; pos = hit + kImportedEntry.size()) {
    out.append(c.substr(pos, hit - pos));
    out.append(kTagged);
  }
  out.append(c.substr(pos));
  size_t init = out.find(kInit);
  if (init == std::string::npos || out.find(kInit, init + 1) != std::string::npos)
    return make_error("wasm2c output has imported functions in element segments but not the expected "
                      "funcref_table_init; refusing to compile it unbound");
  out.replace(init, kInit.size(), kInitBound);
  text = std::move(out);
  return {};
}

namespace {

struct RangeSettings {
  size_t threshold, per_range;
  unsigned threads;
};

// The options, unless $WINK_TRANSLATE_RANGES says otherwise: "off" (always
// whole), or "<threshold>[:<functions per range>]" (tests force ranges on
// small modules with "1:2").
RangeSettings range_settings(const CodegenOptions& options) {
  RangeSettings s{options.range_threshold, options.functions_per_range, options.translate_threads};
  if (const char* env = std::getenv("WINK_TRANSLATE_RANGES"); env && *env) {
    unsigned long long threshold = 0, per_range = 0;
    if (std::string_view(env) == "off") s.threshold = 0;
    else if (std::sscanf(env, "%llu:%llu", &threshold, &per_range) >= 1) s.threshold = threshold;
    if (per_range) s.per_range = per_range;
  }
  if (s.threads == 0) s.threads = std::max(1u, std::thread::hardware_concurrency());
  return s;
}

// wasm2c's source and header for the module: in ranges above the threshold,
// else (or when the ranges are refused) the whole module at once.
Result<void> translate(const ParsedModule& module, const CodegenOptions& options, std::string& c,
                       std::string& h, GeneratedCode& out) {
  RangeSettings s = range_settings(options);
  if (s.threshold && module.num_functions >= s.threshold) {
    auto ranged = translate_in_ranges(*module.ir, kGuestModuleName, kHeaderName, s.per_range, s.threads);
    if (ranged.ok()) {
      c = std::move(ranged->c);
      h = std::move(ranged->h);
      out.translation_ranges = ranged->ranges;
      return {};
    }
    out.ranges_refused = ranged.error().message;
  }
  wabt::MemoryStream c_stream, h_stream;
  wabt::WriteCOptions write_options;
  write_options.module_name = kGuestModuleName;
  if (wabt::Failed(wabt::WriteC(&c_stream, &h_stream, kHeaderName, module.ir.get(), write_options)))
    return make_error("wasm2c could not translate the module");
  const auto& cbuf = c_stream.output_buffer().data;
  const auto& hbuf = h_stream.output_buffer().data;
  c.assign(cbuf.begin(), cbuf.end());
  h.assign(hbuf.begin(), hbuf.end());
  return {};
}

}  // namespace

size_t mark_float_negations(std::string& text) {
  static constexpr std::string_view kFrom = "= -(", kTo = "= WINK_TCC_NEG(";
  size_t hit = text.find(kFrom);
  if (hit == std::string::npos) return 0;
  std::string out;
  out.reserve(text.size() + 1024);
  size_t pos = 0, count = 0;
  for (; hit != std::string::npos; pos = hit + kFrom.size(), hit = text.find(kFrom, pos), ++count) {
    out.append(text, pos, hit - pos);
    out.append(kTo);
  }
  out.append(text, pos, std::string::npos);
  text = std::move(out);
  return count;
}

std::string Glue::with_compile_flags(std::string_view flags) const {
  std::string out = text.substr(0, flags_at);
  out += c_string(flags);
  out.append(text, flags_at + flags_size, std::string::npos);
  return out;
}

std::vector<CompileUnit> GeneratedCode::compile_order(std::string_view compile_flags) const {
  std::vector<CompileUnit> order = units;
  uint64_t glue_bytes = glue.text.size() - glue.flags_size + c_string(compile_flags).size();
  order.push_back({"glue.c", glue_bytes, glue_bytes});
  std::stable_sort(order.begin(), order.end(),
                   [](const CompileUnit& a, const CompileUnit& b) { return a.order_bytes > b.order_bytes; });
  return order;
}

namespace {

// shared.h's default for the negations marked by mark_float_negations:
// wasm2c's own text. TinyCC's builtins header, forced before, defines a sign flip.
constexpr std::string_view kNegationDefault = "#ifndef WINK_TCC_NEG\n#define WINK_TCC_NEG(x) -(x)\n#endif\n";

// Hands a unit's text to the sink with the negations marked, and notes it.
Result<void> emit_unit(const FileSink& sink, GeneratedCode& out, const std::string& name, std::string head,
                       std::string body) {
  uint64_t order_bytes = head.size() + body.size();
  mark_float_negations(head);
  mark_float_negations(body);
  std::string_view pieces[2] = {head, body};
  WINK_TRY(sink(name, pieces));
  out.units.push_back({name, head.size() + body.size(), order_bytes});
  return {};
}

// generate_code's work; `release_ir`, when given, is freed once nothing
// reads the IR any more (after the glue, before the split).
Result<GeneratedCode> generate_into(const ParsedModule& module, const CodegenOptions& options, const FileSink& sink,
                                    std::unique_ptr<wabt::Module>* release_ir) {
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  GeneratedCode out;
  std::string c, header;
  WINK_TRY(translate(module, options, c, header, out));
  WINK_TRY(bind_imported_elem_instances(c));
  const bool start_separated = module.has_start && separate_start_call(c);

  auto t1 = Clock::now();
  out.wasm2c_seconds = std::chrono::duration<double>(t1 - t0).count();
  out.wasm2c_bytes = c.size() + header.size();
  WINK_ASSIGN_OR_RETURN(HeaderFacts facts, read_header(header));
  WINK_ASSIGN_OR_RETURN(out.glue, write_glue(module, facts, options, start_separated));
  // Nothing below reads the IR.
  if (release_ir) release_ir->reset();
  auto emit_header = [&](const std::string& name, std::string_view text) -> Result<void> {
    out.c_bytes += text.size();
    std::string_view pieces[1] = {text};
    return sink(name, pieces);
  };
  WINK_TRY(emit_header(kHeaderName, header));
  std::string().swap(header);
  WINK_TRY(emit_header("wink_artifact_abi.h", kArtifactAbiHeaderText));

  Split s;
  if (!split_c(c, s)) {
    // Unknown shape: compile wasm2c's file as it is (after the negations'
    // default, with its line numbers kept).
    WINK_TRY(emit_unit(sink, out, "guest.c", std::string(kNegationDefault) + "#line 1\n", std::move(c)));
    out.units.back().order_bytes -= kNegationDefault.size() + std::string_view("#line 1\n").size();
  } else {
    WINK_TRY(emit_header("shared.h", s.prologue + std::string(kNegationDefault)));
    // Balance function bodies over parts, biggest first (LPT scheduling).
    unsigned parts = std::max(1u, std::min<unsigned>(options.target_parts,
                                                     static_cast<unsigned>(s.bodies.size())));
    std::vector<size_t> order(s.bodies.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return s.body_sizes[a] > s.body_sizes[b]; });
    std::vector<std::vector<size_t>> bins(parts);
    std::vector<uint64_t> load(parts, 0);
    for (size_t i : order) {
      size_t k = std::min_element(load.begin(), load.end()) - load.begin();
      bins[k].push_back(i);
      load[k] += s.body_sizes[i];
    }
    // One part at a time: its text is made, handed over and freed.
    for (unsigned k = 0; k < parts; ++k) {
      std::sort(bins[k].begin(), bins[k].end());  // keep wasm2c's order inside a part
      std::string body;
      body.reserve(load[k] + bins[k].size());
      for (size_t i : bins[k]) {
        hoist_memory_base(s.bodies[i], &body);
        body += "\n";
      }
      if (body.empty()) continue;
      std::string head = "/* wink: function part " + std::to_string(k) + " */\n#include \"shared.h\"\n" +
                         decls_for(s, body, false);
      WINK_TRY(emit_unit(sink, out, "part" + std::to_string(k) + ".c", std::move(head), std::move(body)));
    }
    // Everything else is copied out: wasm2c's text is no longer needed.
    s.bodies.clear();
    std::string().swap(c);
    WINK_TRY(emit_unit(sink, out, "main.c",
                       "/* wink: module init and exports */\n#include \"shared.h\"\n" + decls_for(s, {}, true),
                       std::move(s.main_text)));
    std::string_view data_asm[1] = {s.data_asm};
    WINK_TRY(sink("data.S", data_asm));
    out.units.push_back({"data.S", s.data_asm.size(), s.data_asm.size()});
    std::string_view blob[1] = {std::string_view(reinterpret_cast<const char*>(s.blob.data()), s.blob.size())};
    WINK_TRY(sink("data.bin", blob));
  }
  for (const CompileUnit& u : out.units) out.c_bytes += u.order_bytes;
  out.c_bytes += out.glue.text.size();
  out.split_seconds = std::chrono::duration<double>(Clock::now() - t1).count();
  return out;
}

}  // namespace

Result<GeneratedCode> generate_code(ParsedModule&& module, const CodegenOptions& options, const FileSink& sink) {
  return generate_into(module, options, sink, &module.ir);
}

Result<GeneratedCode> generate_code(const ParsedModule& module, const CodegenOptions& options) {
  GeneratedCode out;
  std::vector<SourceFile> units;
  auto collect = [&](const std::string& name, std::span<const std::string_view> pieces) -> Result<void> {
    std::string text;
    for (std::string_view p : pieces) text.append(p);
    if (name == "data.bin") out.data_blob.assign(text.begin(), text.end());
    else if (name.ends_with(".h")) out.headers.push_back({name, std::move(text)});
    else units.push_back({name, std::move(text)});
    return {};
  };
  WINK_ASSIGN_OR_RETURN(GeneratedCode code, generate_into(module, options, collect, nullptr));
  code.headers = std::move(out.headers);
  code.data_blob = std::move(out.data_blob);
  units.push_back({"glue.c", code.glue.with_compile_flags(options.compile_flags)});
  for (const CompileUnit& u : code.compile_order(options.compile_flags)) {
    auto it = std::find_if(units.begin(), units.end(), [&](const SourceFile& f) { return f.name == u.name; });
    code.sources.push_back(std::move(*it));
  }
  return code;
}

}  // namespace wink::compiler
