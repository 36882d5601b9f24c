// wasm2c in function ranges (see ranged_translation.h).
//
// The writer is run on small wabt Modules that point into the parsed module's
// IR (nothing is copied but a few declarations; the vectors of a wabt Module
// do not own what they point to):
//
// - a **range module** per range of defined functions: those functions
//   defined; every function they reference (call, ref.func, the entries of a
//   segment they table.init, the ref.func of a global's initializer) imported
//   from a pseudo module; the module's types, imports, globals, memories and
//   tables as they are; its data and elem segments as they are when the range
//   uses them, else as empty stand-ins of the same name and kind. Its output
//   gives the range's forward declarations and function bodies.
// - one **skeleton**: the whole module with every defined function imported
//   from the pseudo module. Its output gives the header and everything that
//   is not a function body: func_types, the instance struct, initializers of
//   globals, memories, tables and segments, export wrappers, instantiate/free.
//
// Neither costs a copy of the whole name set per function: a range module's
// set is its own functions, the ones they reference and the module's other
// items; the skeleton defines no function.
//
// C names. The writer names items in this order: imports (Z_<module>Z_<name>),
// globals, memories, tables, data and elem segments, tags, then functions;
// each gets "w2c_" + its legalized name, with "_0", "_1", ... added on a clash
// with an earlier name. Every small module holds the same non-function items
// in the same order, so their names are the module's. A function's name can
// only clash with names of the same *base* (the name without "_<digits>"
// suffixes), so all functions of one base go into one range, in order, and
// get the names the whole module would give them. A function a range module
// (or the skeleton) imports is referenced there as `(*Z_<pseudo>Z_<index>)(
// instance-><pseudo instance>, ...)` and is rewritten to `w2c_name(instance,
// ...)`, exactly what the whole module's text has. So that no local of that
// module takes such a name, each of them reserves the names of the functions
// it imports, with every function of their bases, as tags: the writer names
// tags right before functions, and the module has no tags of its own
// (exceptions are off). Tag definitions are removed from the output.
//
// Every expectation is checked on the output: the names (the tag block must
// read exactly as computed), the declarations and bodies of each range, every
// pseudo reference's shape, and that nothing of the pseudo module is left.
// Anything else is an error and the caller translates the whole module.
#include "compiler/ranged_translation.h"

#include <wabt/c-writer.h>
#include <wabt/cast.h>
#include <wabt/expr-visitor.h>
#include <wabt/ir.h>
#include <wabt/stream.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "compiler/c_text.h"

namespace wink::compiler {
namespace {

using wabt::Index;

// The pseudo module the small modules import functions from. 0xff never
// occurs in UTF-8, so no real module has this name, and it sorts after every
// real one (import modules are kept in a std::set).
constexpr std::string_view kPseudoModule = "\xffwink";
// wasm2c's names derived from it (MangleName escapes 0xff as ZFF).
constexpr std::string_view kPseudoSymbol = "Z_ZFFwinkZ_";  // + function index
constexpr std::string_view kPseudoInstance = "Z_ZFFwink_instance";
constexpr std::string_view kPseudoMark = "ZFFwink";        // must not survive the rewrite
constexpr std::string_view kPrologueEnd = "\nstatic bool s_module_initialized";

std::string_view strip_dollar(std::string_view name) {
  if (!name.empty() && name[0] == '$') name.remove_prefix(1);
  return name;
}

// wasm2c 1.0.32's LegalizeName.
std::string legal_name(std::string_view name) {
  name = strip_dollar(name);
  if (name.empty()) return "_";
  std::string out = "w2c_";
  out += std::isalpha(static_cast<unsigned char>(name[0])) ? name[0] : '_';
  for (size_t i = 1; i < name.size(); ++i)
    out += std::isalnum(static_cast<unsigned char>(name[i])) ? name[i] : '_';
  return out;
}

// wasm2c 1.0.32's DefineName: the legal name, or the first free "<legal>_<n>".
std::string define_name(std::unordered_set<std::string>& taken, std::string_view name) {
  std::string legal = legal_name(name);
  if (taken.count(legal)) {
    std::string base = legal + "_";
    size_t count = 0;
    do legal = base + std::to_string(count++);
    while (taken.count(legal));
  }
  taken.insert(legal);
  return legal;
}

// The name without trailing "_<digits>": names of different bases never clash.
std::string_view name_base(std::string_view legal) {
  for (;;) {
    size_t u = legal.rfind('_');
    if (u == std::string_view::npos || u + 1 == legal.size()) return legal;
    for (size_t i = u + 1; i < legal.size(); ++i)
      if (!std::isdigit(static_cast<unsigned char>(legal[i]))) return legal;
    legal = legal.substr(0, u);
  }
}

// What a function body references by index: functions, data and elem segments.
class References : public wabt::ExprVisitor::DelegateNop {
 public:
  explicit References(const wabt::Module& m) : m_(m) {}
  std::vector<Index> funcs, datas, elems;
  bool bad = false;

  wabt::Result OnCallExpr(wabt::CallExpr* e) override { return func(e->var); }
  wabt::Result OnReturnCallExpr(wabt::ReturnCallExpr* e) override { return func(e->var); }
  wabt::Result OnRefFuncExpr(wabt::RefFuncExpr* e) override { return func(e->var); }
  wabt::Result OnMemoryInitExpr(wabt::MemoryInitExpr* e) override { return data(e->var); }
  wabt::Result OnDataDropExpr(wabt::DataDropExpr* e) override { return data(e->var); }
  wabt::Result OnTableInitExpr(wabt::TableInitExpr* e) override { return elem(e->segment_index); }
  wabt::Result OnElemDropExpr(wabt::ElemDropExpr* e) override { return elem(e->var); }

 private:
  wabt::Result add(Index i, size_t size, std::vector<Index>& to) {
    if (i >= size) bad = true;
    else to.push_back(i);
    return wabt::Result::Ok;
  }
  wabt::Result func(const wabt::Var& v) { return add(m_.GetFuncIndex(v), m_.funcs.size(), funcs); }
  wabt::Result data(const wabt::Var& v) {
    return add(m_.GetDataSegmentIndex(v), m_.data_segments.size(), datas);
  }
  wabt::Result elem(const wabt::Var& v) {
    return add(m_.GetElemSegmentIndex(v), m_.elem_segments.size(), elems);
  }
  const wabt::Module& m_;
};

// Functions referenced by ref.func in a constant expression (initializers of
// globals, entries of elem segments).
void ref_funcs(const wabt::Module& m, const wabt::ExprList& exprs, std::vector<Index>& out, bool& bad) {
  for (const wabt::Expr& e : exprs) {
    if (e.type() != wabt::ExprType::RefFunc) continue;
    Index i = m.GetFuncIndex(wabt::cast<wabt::RefFuncExpr>(&e)->var);
    if (i >= m.funcs.size()) bad = true;
    else out.push_back(i);
  }
}

struct Plan {
  const wabt::Module& m;
  Index first = 0;                          // index of the first defined function
  std::vector<std::string> names;           // C name per function index (defined ones)
  std::vector<uint32_t> group;              // base group per function index (defined ones)
  std::vector<std::vector<Index>> members;  // functions of each group, in order
  std::vector<References> refs;             // per defined function
  std::vector<Index> global_init_funcs;
  std::vector<std::vector<Index>> elem_funcs;  // per elem segment
  // Stand-ins, made once and shared by every small module (the writer only reads them).
  std::vector<std::unique_ptr<wabt::FuncImport>> imported;  // per defined function
  std::vector<std::unique_ptr<wabt::Tag>> reserved;         // per defined function
  std::vector<std::unique_ptr<wabt::DataSegment>> data_stand_ins;
  std::vector<std::unique_ptr<wabt::ElemSegment>> elem_stand_ins;
};

// What one small module holds, besides the module's other items.
struct Contents {
  std::vector<Index> defined;         // defined here, in order
  std::vector<Index> imported;        // imported from the pseudo module, in order
  std::vector<Index> reserved;        // names reserved as tags, in order
  std::vector<bool> data_real, elem_real;  // segments used as they are (else stand-ins)
  bool skeleton = false;              // exports and start too
};

void build_module(const Plan& p, const Contents& c, wabt::Module& sub) {
  const wabt::Module& m = p.m;
  sub.types = m.types;
  sub.type_bindings = m.type_bindings;
  sub.imports = m.imports;
  for (Index i : c.imported) sub.imports.push_back(p.imported[i - p.first].get());
  sub.num_func_imports = m.num_func_imports + static_cast<Index>(c.imported.size());
  sub.num_table_imports = m.num_table_imports;
  sub.num_memory_imports = m.num_memory_imports;
  sub.num_global_imports = m.num_global_imports;
  sub.funcs.assign(m.funcs.begin(), m.funcs.begin() + p.first);
  for (Index i : c.imported) sub.funcs.push_back(&p.imported[i - p.first]->func);
  for (Index i : c.defined) sub.funcs.push_back(m.funcs[i]);
  if (c.skeleton) {
    sub.func_bindings = m.func_bindings;  // every function at its own index
  } else {
    for (Index i = 0; i < sub.funcs.size(); ++i) sub.func_bindings.emplace(sub.funcs[i]->name, wabt::Binding(i));
  }
  for (Index i : c.reserved) sub.tags.push_back(p.reserved[i - p.first].get());
  sub.globals = m.globals;
  sub.global_bindings = m.global_bindings;
  sub.memories = m.memories;
  sub.memory_bindings = m.memory_bindings;
  sub.tables = m.tables;
  sub.table_bindings = m.table_bindings;
  for (size_t i = 0; i < m.data_segments.size(); ++i)
    sub.data_segments.push_back(c.data_real[i] ? m.data_segments[i] : p.data_stand_ins[i].get());
  sub.data_segment_bindings = m.data_segment_bindings;
  for (size_t i = 0; i < m.elem_segments.size(); ++i)
    sub.elem_segments.push_back(c.elem_real[i] ? m.elem_segments[i] : p.elem_stand_ins[i].get());
  sub.elem_segment_bindings = m.elem_segment_bindings;
  if (c.skeleton) {
    sub.exports = m.exports;
    sub.export_bindings = m.export_bindings;
    sub.starts = m.starts;
  }
}

struct WriterOutput {
  std::string c, h;
};

Result<WriterOutput> write_c(const wabt::Module& sub, const char* module_name, const char* header_name) {
  wabt::MemoryStream c_stream, h_stream;
  wabt::WriteCOptions options;
  options.module_name = module_name;
  if (wabt::Failed(wabt::WriteC(&c_stream, &h_stream, header_name, &sub, options)))
    return make_error("wasm2c could not translate a range of the module");
  const auto& c = c_stream.output_buffer().data;
  const auto& h = h_stream.output_buffer().data;
  return WriterOutput{std::string(c.begin(), c.end()), std::string(h.begin(), h.end())};
}

// The tags block the writer gives for `reserved` (WriteTags), which must
// read exactly so: it proves the names of those functions.
std::string tags_block(const Plan& p, const std::vector<Index>& reserved) {
  std::string block;
  for (Index i : reserved) block += "static u32 " + p.names[i] + ";\n";
  block += "\nstatic void init_tags(void) {\n";
  for (Index i : reserved) block += "  " + p.names[i] + " = wasm_rt_register_tag(0);\n";
  return block + "}\n";
}

// Replaces every `from` in `s` by `to`; false unless there were `expected`.
bool replace_counted(std::string& s, std::string_view from, std::string_view to, size_t expected) {
  std::string out;
  size_t pos = 0, count = 0;
  for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    if (count == 0) out.reserve(s.size());
    out.append(s, pos, hit - pos);
    out.append(to);
    ++count;
  }
  if (count != expected) return false;
  if (count == 0) return true;
  out.append(s, pos, std::string::npos);
  s = std::move(out);
  return true;
}

bool is_ident(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Rewrites references to functions imported from the pseudo module into the
// references the whole module's text has to those (defined) functions:
//   (*Z_<p>Z_<i>)(instance-><p instance>            -> name(instance
//   (wasm_rt_function_ptr_t)Z_<p>Z_<i>, instance-><p instance>}   (ref.func)
//                                                   -> (wasm_rt_function_ptr_t)&name, instance}
//   (wasm_rt_function_ptr_t)Z_<p>Z_<i>, offsetof(<instance type>, <p instance>)}  (elem entry)
//                                                   -> (wasm_rt_function_ptr_t)&name, 0}
// Any other occurrence, or a mark of the pseudo module left, is an error.
Result<std::string> rewrite_imported_refs(const Plan& p, std::string_view text, std::string_view instance_type) {
  static constexpr std::string_view kCall = "(*";
  static constexpr std::string_view kPtr = "(wasm_rt_function_ptr_t)";
  const std::string call_tail = ")(instance->" + std::string(kPseudoInstance);
  const std::string ref_tail = ", instance->" + std::string(kPseudoInstance) + "}";
  const std::string elem_tail = ", offsetof(" + std::string(instance_type) + ", " + std::string(kPseudoInstance) + ")}";
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  for (size_t hit; (hit = text.find(kPseudoSymbol, pos)) != std::string_view::npos;) {
    size_t d = hit + kPseudoSymbol.size(), e = d;
    while (e < text.size() && std::isdigit(static_cast<unsigned char>(text[e]))) ++e;
    Index index = 0;
    bool ok = e > d && e - d < 10 && (hit == 0 || !is_ident(text[hit - 1]));
    for (size_t k = d; ok && k < e; ++k) index = index * 10 + static_cast<Index>(text[k] - '0');
    ok = ok && index >= p.first && index < p.names.size();
    if (!ok) return make_error("unexpected reference to the pseudo module in wasm2c's output");
    const std::string& name = p.names[index];
    std::string_view before = text.substr(0, hit), after = text.substr(e);
    if (before.ends_with(kCall) && after.starts_with(call_tail)) {
      out.append(text.substr(pos, hit - kCall.size() - pos));
      out += name;
      out += "(instance";
      pos = e + call_tail.size();
    } else if (before.ends_with(kPtr) && after.starts_with(ref_tail)) {
      out.append(text.substr(pos, hit - pos));
      out += "&" + name + ", instance}";
      pos = e + ref_tail.size();
    } else if (before.ends_with(kPtr) && after.starts_with(elem_tail)) {
      out.append(text.substr(pos, hit - pos));
      out += "&" + name + ", 0}";
      pos = e + elem_tail.size();
    } else {
      return make_error("unexpected reference to the pseudo module in wasm2c's output");
    }
  }
  out.append(text.substr(pos));
  return out;
}

// One range's part of the result: per defined function (in the order of
// Contents::defined), its forward declaration and its definition.
struct RangeText {
  std::vector<std::string> decls, bodies;
};

Result<RangeText> translate_range(const Plan& p, const Contents& c, const char* module_name,
                                  const char* header_name, std::string_view instance_type) {
  wabt::Module sub;
  build_module(p, c, sub);
  WINK_ASSIGN_OR_RETURN(WriterOutput out, write_c(sub, module_name, header_name));
  std::string_view src(out.c);
  size_t prologue_end = src.find(kPrologueEnd);
  if (prologue_end == std::string_view::npos) return make_error("a range's C has no prologue");
  if (!c.reserved.empty() && src.find(tags_block(p, c.reserved)) == std::string_view::npos)
    return make_error("a range's C does not reserve the names of the functions it calls");
  RangeText r;
  size_t next_decl = 0, next_body = 0;
  for (const c_text::Item& item : c_text::split_items(src.substr(prologue_end + 1))) {
    if (!c_text::starts_with(item.text, "static ")) continue;
    std::string head = c_text::item_head(item.text);
    if (head.empty() || head.find('(') == std::string::npos) continue;
    std::string_view name = c_text::name_before_paren(head);
    if (head.back() == ';' && next_decl < c.defined.size() && name == p.names[c.defined[next_decl]]) {
      r.decls.emplace_back(item.text);
      ++next_decl;
    } else if (head.back() == '{' && next_body < c.defined.size() && name == p.names[c.defined[next_body]]) {
      WINK_ASSIGN_OR_RETURN(std::string body, rewrite_imported_refs(p, item.text, instance_type));
      if (body.find(kPseudoMark) != std::string::npos)
        return make_error("a range's C still references the pseudo module");
      r.bodies.push_back(std::move(body));
      ++next_body;
    }
  }
  if (next_decl != c.defined.size() || next_body != c.defined.size())
    return make_error("a range's C does not declare and define its functions under the expected names");
  return r;
}

// The skeleton's header with the pseudo module taken out (its forward
// declaration, its instance pointer in the struct, its parameter of
// instantiate and the declarations of its functions): the whole module's.
Result<std::string> header_without_pseudo(std::string_view h, bool no_imports, size_t imported) {
  const std::string pseudo_type = std::string(kPseudoInstance) + "_t";
  const std::string forward = "struct " + pseudo_type + ";";
  const std::string field = "  struct " + pseudo_type + "* " + std::string(kPseudoInstance) + ";";
  const std::string import_comment = "/* import: '" + std::string(kPseudoModule) + "' '";
  std::string out;
  out.reserve(h.size());
  size_t forwards = 0, fields = 0, decls = 0;
  for (size_t pos = 0; pos < h.size();) {
    size_t eol = h.find('\n', pos);
    size_t next = eol == std::string_view::npos ? h.size() : eol + 1;
    std::string_view line = h.substr(pos, next - pos);
    std::string_view bare = c_text::trim_right(line);
    if (bare == forward) {
      ++forwards;
      // Without imports of its own the module's header has no forward
      // declarations, nor the blank line after them.
      if (no_imports && h.substr(next, 1) == "\n") ++next;
    } else if (bare == field) {
      ++fields;
    } else if (c_text::starts_with(bare, import_comment)) {
      // Without imports of its own the module's header has no imports
      // section, nor the blank line that opens it.
      if (no_imports && decls == 0) {
        if (!out.ends_with("\n\n")) return make_error("the skeleton's header does not have the expected shape");
        out.pop_back();
      }
      size_t eol2 = h.find('\n', next);
      if (eol2 == std::string_view::npos || h.substr(next, eol2 - next).find(kPseudoSymbol) == std::string_view::npos)
        return make_error("the skeleton's header declares a pseudo import unexpectedly");
      ++decls;
      next = eol2 + 1;
    } else {
      out.append(line);
    }
    pos = next;
  }
  if (forwards != 1 || fields != 1 || decls != imported ||
      !replace_counted(out, ", struct " + pseudo_type + "*", "", 1) ||
      out.find(kPseudoMark) != std::string::npos || out.find('\xff') != std::string::npos)
    return make_error("the skeleton's header does not have the expected shape");
  return out;
}

// The skeleton's source with the pseudo module and the reserved names taken
// out, references to functions rewritten, and the ranges' declarations and
// bodies put where the whole module's writer puts them: declarations right
// after func_types (where the reserved names were), bodies right before the
// export wrappers (or what follows the elem initializers when there are none).
Result<std::string> assemble_source(const Plan& p, const Contents& c, std::string_view src,
                                    std::string_view instance_type, const std::vector<Contents>& ranges,
                                    std::vector<Result<RangeText>>& texts) {
  WINK_ASSIGN_OR_RETURN(std::string out, rewrite_imported_refs(p, src, instance_type));
  const std::string pseudo_type = std::string(kPseudoInstance) + "_t";
  const std::string instance(kPseudoInstance);
  bool ok = replace_counted(out, ", struct " + pseudo_type + "* " + instance, "", 2) &&  // definitions
            replace_counted(out, "  instance->" + instance + " = " + instance + ";\n", "", 1) &&
            replace_counted(out, ", " + instance + ");", ");", 1) &&  // init_instance_import's call
            replace_counted(out, "  init_tags();\n", "", 1);
  // Without imports of its own the module has no init_instance_import.
  if (ok && p.m.imports.empty())
    ok = replace_counted(out, "\nstatic void init_instance_import(" + std::string(instance_type) + "* instance){\n}\n", "", 1) &&
         replace_counted(out, "  init_instance_import(instance);\n", "", 1);
  const std::string tags = tags_block(p, c.reserved);
  size_t tags_at = out.find(tags);
  ok = ok && tags_at != std::string::npos && out.find(tags, tags_at + 1) == std::string::npos &&
       out.find(kPseudoMark) == std::string::npos && out.rfind("init_tags", tags_at) == std::string::npos &&
       out.find("init_tags", tags_at + tags.size()) == std::string::npos;
  if (!ok) return make_error("the skeleton's C does not have the expected shape");
  size_t bodies_at = std::string::npos;
  for (std::string_view next : {"\n/* export: '", "\nstatic void init_instance_import(", "\nvoid Z_"})
    bodies_at = std::min(bodies_at, out.find(next, tags_at));
  if (bodies_at == std::string::npos) return make_error("the skeleton's C does not have the expected shape");
  // Both in function order, as the whole module's writer has them (a range
  // may hold functions from further on: the rest of its first one's base).
  std::vector<std::string*> decl_of(p.names.size()), body_of(p.names.size());
  size_t size = out.size();
  for (size_t k = 0; k < ranges.size(); ++k) {
    for (size_t j = 0; j < ranges[k].defined.size(); ++j) {
      decl_of[ranges[k].defined[j]] = &texts[k]->decls[j];
      body_of[ranges[k].defined[j]] = &texts[k]->bodies[j];
      size += texts[k]->decls[j].size() + texts[k]->bodies[j].size() + 1;
    }
  }
  std::string text;
  text.reserve(size + 1);
  text.append(out, 0, tags_at);
  text += "\n";  // as WriteFuncDeclarations
  for (Index i = p.first; i < p.names.size(); ++i) text += *decl_of[i];
  text.append(out, tags_at + tags.size(), bodies_at - tags_at - tags.size());
  for (Index i = p.first; i < p.names.size(); ++i) {
    text += "\n";  // as WriteFuncs: a newline, the function, a newline
    text += *body_of[i];
    std::string().swap(*body_of[i]);
  }
  text.append(out, bodies_at, std::string::npos);
  return text;
}

}  // namespace

Result<RangedTranslation> translate_in_ranges(const wabt::Module& m, const char* module_name,
                                              const char* header_name, size_t functions_per_range,
                                              unsigned threads) {
  Plan p{m};
  p.first = m.num_func_imports;
  const Index num_funcs = static_cast<Index>(m.funcs.size());
  if (num_funcs == p.first) return make_error("the module defines no functions");
  if (!m.tags.empty()) return make_error("the module has tags (the ranges reserve names as tags)");
  for (const wabt::Import* import : m.imports)
    if (import->module_name == kPseudoModule) return make_error("the module imports from the pseudo module");

  // Names of items wasm2c looks up as "is this an import" by name alone
  // (globals, memories, tables, imports): a defined function of such a name
  // would be taken for an import in a module that imports it.
  std::unordered_set<std::string> item_names;
  for (const wabt::Global* g : m.globals) item_names.insert(g->name);
  for (const wabt::Memory* x : m.memories) item_names.insert(x->name);
  for (const wabt::Table* x : m.tables) item_names.insert(x->name);
  for (Index i = 0; i < p.first; ++i) item_names.insert(m.funcs[i]->name);
  for (Index i = p.first; i < num_funcs; ++i)
    if (item_names.count(m.funcs[i]->name))
      return make_error("a function has the name of another item: " + m.funcs[i]->name);

  // The C names of defined functions, as the whole module's writer gives them.
  {
    std::unordered_set<std::string> taken;
    for (Index i = m.num_global_imports; i < m.globals.size(); ++i) define_name(taken, m.globals[i]->name);
    for (Index i = m.num_memory_imports; i < m.memories.size(); ++i) define_name(taken, m.memories[i]->name);
    for (Index i = m.num_table_imports; i < m.tables.size(); ++i) define_name(taken, m.tables[i]->name);
    for (const wabt::DataSegment* d : m.data_segments) define_name(taken, d->name);
    for (const wabt::ElemSegment* e : m.elem_segments) define_name(taken, e->name);
    p.names.resize(num_funcs);
    p.group.resize(num_funcs);
    std::unordered_map<std::string, uint32_t> groups;
    for (Index i = p.first; i < num_funcs; ++i) {
      p.names[i] = define_name(taken, m.funcs[i]->name);
      auto [it, fresh] = groups.emplace(std::string(name_base(p.names[i])), static_cast<uint32_t>(p.members.size()));
      if (fresh) p.members.emplace_back();
      p.group[i] = it->second;
      p.members[it->second].push_back(i);
    }
  }

  // What each function references. ExprVisitor wants a mutable function; it
  // only reads it.
  bool bad = false;
  p.refs.reserve(num_funcs - p.first);
  for (Index i = p.first; i < num_funcs; ++i) {
    p.refs.emplace_back(m);
    wabt::ExprVisitor visitor(&p.refs.back());
    if (wabt::Failed(visitor.VisitFunc(const_cast<wabt::Func*>(m.funcs[i])))) bad = true;
    bad |= p.refs.back().bad;
  }
  for (Index i = m.num_global_imports; i < m.globals.size(); ++i)
    ref_funcs(m, m.globals[i]->init_expr, p.global_init_funcs, bad);
  p.elem_funcs.resize(m.elem_segments.size());
  for (size_t s = 0; s < m.elem_segments.size(); ++s)
    for (const wabt::ExprList& e : m.elem_segments[s]->elem_exprs) ref_funcs(m, e, p.elem_funcs[s], bad);
  if (bad) return make_error("a reference the scan cannot resolve");

  // Stand-ins.
  std::vector<bool> exported(num_funcs - p.first, false);
  for (const wabt::Export* e : m.exports) {
    if (e->kind != wabt::ExternalKind::Func) continue;
    Index i = m.GetFuncIndex(e->var);
    if (i >= num_funcs) return make_error("an export the scan cannot resolve");
    if (i >= p.first) exported[i - p.first] = true;
  }
  for (Index i = p.first; i < num_funcs; ++i) {
    const wabt::Func& f = *m.funcs[i];
    auto import = std::make_unique<wabt::FuncImport>(f.name);
    import->module_name = kPseudoModule;
    import->field_name = std::to_string(i);
    import->func.decl = f.decl;
    if (exported[i - p.first]) {  // export wrappers name their parameters after the function's
      import->func.local_types = f.local_types;
      import->func.bindings = f.bindings;
    }
    p.imported.push_back(std::move(import));
    p.reserved.push_back(std::make_unique<wabt::Tag>(f.name));
  }
  for (const wabt::DataSegment* d : m.data_segments) {
    auto s = std::make_unique<wabt::DataSegment>(d->name);
    s->kind = d->kind;
    s->memory_var = d->memory_var;
    p.data_stand_ins.push_back(std::move(s));
  }
  for (const wabt::ElemSegment* e : m.elem_segments) {
    auto s = std::make_unique<wabt::ElemSegment>(e->name);
    s->kind = e->kind;
    s->table_var = e->table_var;
    s->elem_type = e->elem_type;
    p.elem_stand_ins.push_back(std::move(s));
  }

  // Ranges: functions in order, each base group whole in the range of its
  // first function.
  std::vector<Contents> ranges;
  {
    std::vector<bool> placed(p.members.size(), false);
    Contents current;
    for (Index i = p.first; i < num_funcs; ++i) {
      if (placed[p.group[i]]) continue;
      placed[p.group[i]] = true;
      for (Index f : p.members[p.group[i]]) current.defined.push_back(f);
      if (current.defined.size() >= functions_per_range) {
        ranges.push_back(std::move(current));
        current = Contents{};
      }
    }
    if (!current.defined.empty()) ranges.push_back(std::move(current));
  }
  for (Contents& c : ranges) {
    std::sort(c.defined.begin(), c.defined.end());
    c.data_real.assign(m.data_segments.size(), false);
    c.elem_real.assign(m.elem_segments.size(), false);
    std::vector<Index> called(p.global_init_funcs);
    for (Index f : c.defined) {
      const References& r = p.refs[f - p.first];
      called.insert(called.end(), r.funcs.begin(), r.funcs.end());
      for (Index d : r.datas) c.data_real[d] = true;
      for (Index s : r.elems) {
        c.elem_real[s] = true;
        called.insert(called.end(), p.elem_funcs[s].begin(), p.elem_funcs[s].end());
      }
    }
    std::sort(called.begin(), called.end());
    called.erase(std::unique(called.begin(), called.end()), called.end());
    std::vector<uint32_t> groups;
    for (Index f : called) {
      if (f < p.first || std::binary_search(c.defined.begin(), c.defined.end(), f)) continue;
      c.imported.push_back(f);
      groups.push_back(p.group[f]);
    }
    std::sort(groups.begin(), groups.end());
    groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
    for (uint32_t g : groups) c.reserved.insert(c.reserved.end(), p.members[g].begin(), p.members[g].end());
    std::sort(c.reserved.begin(), c.reserved.end());
  }

  const std::string instance_type = std::string("Z_") + module_name + "_instance_t";
  // The skeleton: every defined function imported, every name reserved.
  Contents skeleton;
  skeleton.skeleton = true;
  for (Index i = p.first; i < num_funcs; ++i) skeleton.imported.push_back(i);
  skeleton.reserved = skeleton.imported;
  skeleton.data_real.assign(m.data_segments.size(), true);
  skeleton.elem_real.assign(m.elem_segments.size(), true);
  WriterOutput skeleton_out;
  {
    wabt::Module sub;
    build_module(p, skeleton, sub);
    WINK_ASSIGN_OR_RETURN(skeleton_out, write_c(sub, module_name, header_name));
  }
  RangedTranslation result;
  WINK_ASSIGN_OR_RETURN(result.h, header_without_pseudo(skeleton_out.h, m.imports.empty(), skeleton.imported.size()));

  // The ranges, on several threads: each writer has its own module and
  // streams; the IR they share is only read.
  std::vector<Result<RangeText>> texts(ranges.size(), make_error("not translated"));
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  auto work = [&] {
    for (size_t k; !failed.load() && (k = next.fetch_add(1)) < ranges.size();) {
      texts[k] = translate_range(p, ranges[k], module_name, header_name, instance_type);
      if (!texts[k].ok()) failed = true;
    }
  };
  unsigned n = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(ranges.size())));
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < n; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  for (Result<RangeText>& t : texts)
    if (!t.ok()) return std::move(t).error();

  WINK_ASSIGN_OR_RETURN(result.c, assemble_source(p, skeleton, skeleton_out.c, instance_type, ranges, texts));
  result.ranges = ranges.size();
  return result;
}

}  // namespace wink::compiler
