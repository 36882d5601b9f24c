// Rules of the WebAssembly 2.0 spec that libwabt 1.0.32's reader and
// validator do not enforce, found by the spec testsuite (`wink wast`,
// docs/conformance.md). A module breaking one is refused like any invalid
// module: wasm2c would translate it into C whose behaviour nobody checked
// (e.g. call_indirect through an externref table).
#include "compiler/spec_gaps.h"

#include <wabt/binary-reader-nop.h>
#include <wabt/binary-reader.h>
#include <wabt/cast.h>
#include <wabt/ir.h>

#include <optional>
#include <string_view>

#include "common/utf8.h"

namespace wink::compiler {
namespace {

// A u32 LEB128 at `p`: at most 5 bytes, the unused bits of the 5th zero.
// Returns the value, or an error naming the rule broken.
Result<uint32_t> read_u32(std::span<const uint8_t> b, size_t& p, const char* what) {
  uint64_t v = 0;
  for (int i = 0; i < 5; ++i) {
    if (p >= b.size()) return make_error(std::string(what) + ": unexpected end at byte offset " + std::to_string(p));
    uint8_t byte = b[p++];
    if (i == 4 && (byte & 0x80)) return make_error(std::string(what) + ": integer representation too long");
    if (i == 4 && (byte & 0x70)) return make_error(std::string(what) + ": integer too large");
    v |= uint64_t(byte & 0x7f) << (7 * i);
    if (!(byte & 0x80)) return static_cast<uint32_t>(v);
  }
  return make_error(std::string(what) + ": integer representation too long");
}

Result<void> check_sections(std::span<const uint8_t> b) {
  size_t p = 8;
  std::optional<uint32_t> data_count;
  bool has_data = false;
  while (p < b.size()) {
    uint8_t id = b[p++];
    size_t header = p - 1;
    WINK_ASSIGN_OR_RETURN(uint32_t size, read_u32(b, p, "section size"));
    if (p + size > b.size()) return {};  // wabt reports it
    size_t end = p + size;
    std::string at = " in the section at byte offset " + std::to_string(header);
    if (id == 0) {  // custom: a name that fits in the section
      size_t q = p;
      auto name_len = read_u32(b.first(end), q, "custom section name");
      if (!name_len.ok()) return make_error(name_len.error().message + at);
      if (q + *name_len > end) return make_error("custom section name: unexpected end" + at);
      std::string_view name(reinterpret_cast<const char*>(b.data() + q), *name_len);
      if (!valid_utf8(name)) return make_error("custom section name: malformed UTF-8 encoding" + at);
    } else if (id == 6) {  // the last global's initializer ends with `end` inside the section
      size_t q = p;
      WINK_ASSIGN_OR_RETURN(uint32_t count, read_u32(b.first(end), q, "global section count"));
      if (count > 0 && b[end - 1] != 0x0b)
        return make_error("global initializer does not end with `end` (illegal opcode)" + at);
    } else if (id == 12) {
      size_t q = p;
      WINK_ASSIGN_OR_RETURN(uint32_t n, read_u32(b.first(end), q, "data count"));
      data_count = n;
    } else if (id == 11) {
      has_data = true;
    } else if (id == 10) {  // every function body ends with `end`
      size_t q = p;
      WINK_ASSIGN_OR_RETURN(uint32_t count, read_u32(b.first(end), q, "code section count"));
      for (uint32_t i = 0; i < count && q < end; ++i) {
        WINK_ASSIGN_OR_RETURN(uint32_t body, read_u32(b.first(end), q, "function body size"));
        if (body == 0 || q + body > end) break;  // wabt reports it
        if (b[q + body - 1] != 0x0b)
          return make_error("function body " + std::to_string(i) + " does not end with `end` (illegal opcode)" + at);
        q += body;
      }
    }
    p = end;
  }
  if (data_count && *data_count != 0 && !has_data)
    return make_error("data count and data section have inconsistent lengths (data count " +
                      std::to_string(*data_count) + ", no data section)");
  return {};
}

// Every function body closes exactly the blocks it opens and then itself.
// wabt 1.0.32 builds its IR from the `end`s it reads and never checks that
// the body's last `end` is the function's: a body short of one `end` (the
// spec's "unexpected end") reads as a valid function.
class BlockBalance : public wabt::BinaryReaderNop {
 public:
  // wabt's own read reports malformed input; this pass says nothing.
  bool OnError(const wabt::Error&) override { return true; }
  wabt::Result BeginFunctionBody(wabt::Index index, wabt::Offset) override {
    func_ = index;
    in_body_ = true;
    open_ = 1;  // the function's own block
    return wabt::Result::Ok;
  }
  wabt::Result OnBlockExpr(wabt::Type) override { return open(); }
  wabt::Result OnLoopExpr(wabt::Type) override { return open(); }
  wabt::Result OnIfExpr(wabt::Type) override { return open(); }
  wabt::Result OnTryExpr(wabt::Type) override { return open(); }
  wabt::Result OnEndExpr() override { return close(); }
  wabt::Result OnDelegateExpr(wabt::Index) override { return close(); }
  wabt::Result EndFunctionBody(wabt::Index) override {
    if (open_ != 0 && !unbalanced_) unbalanced_ = func_;
    in_body_ = false;
    return wabt::Result::Ok;
  }
  std::optional<wabt::Index> unbalanced() const { return unbalanced_; }

 private:
  // Constant expressions (globals, segment offsets) end with `end` too.
  wabt::Result open() {
    if (in_body_) ++open_;
    return wabt::Result::Ok;
  }
  wabt::Result close() {
    if (!in_body_) return wabt::Result::Ok;
    if (open_ == 0 && !unbalanced_) unbalanced_ = func_;
    if (open_ > 0) --open_;
    return wabt::Result::Ok;
  }
  wabt::Index func_ = 0;
  bool in_body_ = false;
  uint64_t open_ = 0;
  std::optional<wabt::Index> unbalanced_;
};

Result<void> check_block_balance(std::span<const uint8_t> b) {
  wabt::Features features;
  features.disable_simd();
  wabt::ReadBinaryOptions options(features, nullptr, /*read_debug_names=*/false,
                                  /*stop_on_first_error=*/true, /*fail_on_custom_section_error=*/false);
  options.skip_function_bodies = false;
  BlockBalance balance;
  if (wabt::Failed(wabt::ReadBinary(b.data(), b.size(), &balance, options))) return {};  // wabt reported it
  if (auto f = balance.unbalanced())
    return make_error("function " + std::to_string(*f) + ": unexpected end (its blocks and `end`s do not match)");
  return {};
}

// A global's initializer and a segment's offset are constant expressions:
// only the instructions below. wabt 1.0.32 reads them with the function-body
// reader but builds their IR without the label a block would need, so a
// `block`, `loop` or `if` there fails an assertion in its IR reader (found by
// the module fuzzer): this pass reads the bytes first, without building IR.
class ConstantExpressions : public wabt::BinaryReaderNop {
 public:
  bool OnError(const wabt::Error&) override { return true; }  // wabt's IR read reports it
  wabt::Result BeginGlobalInitExpr(wabt::Index i) override { return enter("the initializer of global", i); }
  wabt::Result EndGlobalInitExpr(wabt::Index) override { return leave(); }
  wabt::Result BeginElemSegmentInitExpr(wabt::Index i) override { return enter("the offset of element segment", i); }
  wabt::Result EndElemSegmentInitExpr(wabt::Index) override { return leave(); }
  wabt::Result BeginDataSegmentInitExpr(wabt::Index i) override { return enter("the offset of data segment", i); }
  wabt::Result EndDataSegmentInitExpr(wabt::Index) override { return leave(); }
  wabt::Result OnOpcode(wabt::Opcode op) override {
    if (where_.empty() || constant(op)) return wabt::Result::Ok;
    refusal_ = "constant expression required: `" + std::string(op.GetName()) + "` in " + where_ +
               " at byte offset " + std::to_string(state ? state->offset : 0);
    return wabt::Result::Error;
  }
  const std::string& refusal() const { return refusal_; }

 private:
  static bool constant(wabt::Opcode op) {
    switch (op) {
      case wabt::Opcode::I32Const: case wabt::Opcode::I64Const: case wabt::Opcode::F32Const:
      case wabt::Opcode::F64Const: case wabt::Opcode::V128Const: case wabt::Opcode::GlobalGet:
      case wabt::Opcode::RefNull: case wabt::Opcode::RefFunc: case wabt::Opcode::End:
      // extended-const: no labels either; wabt's validator decides whether they are on
      case wabt::Opcode::I32Add: case wabt::Opcode::I32Sub: case wabt::Opcode::I32Mul:
      case wabt::Opcode::I64Add: case wabt::Opcode::I64Sub: case wabt::Opcode::I64Mul: return true;
      default: return false;
    }
  }
  wabt::Result enter(const char* what, wabt::Index i) {
    where_ = std::string(what) + " " + std::to_string(i);
    return wabt::Result::Ok;
  }
  wabt::Result leave() {
    where_.clear();
    return wabt::Result::Ok;
  }
  std::string where_;  // empty outside a constant expression
  std::string refusal_;
};

// An active segment's offset: one i32 constant expression.
bool offset_is_i32(const wabt::Module& m, const wabt::ExprList& offset) {
  if (offset.size() != 1) return false;
  const wabt::Expr& e = offset.front();
  if (e.type() == wabt::ExprType::Const) return wabt::cast<wabt::ConstExpr>(&e)->const_.type() == wabt::Type::I32;
  if (e.type() == wabt::ExprType::GlobalGet) {
    const wabt::Global* g = m.GetGlobal(wabt::cast<wabt::GlobalGetExpr>(&e)->var);
    return g && g->type == wabt::Type::I32;
  }
  return false;
}

// wabt 1.0.32 reads some SIMD instructions (v128.load8x8_s, ...) with SIMD
// disabled, and its C writer then aborts: refuse every SIMD instruction.
Result<void> refuse_simd(const std::string& func) {
  return make_error("SIMD instruction (v128) in function " + func + ", which wasm2c 1.0.32 cannot translate");
}

template <typename T>
bool simd_opcode(const wabt::Expr& e) {
  return wabt::cast<T>(&e)->opcode.GetPrefix() == 0xfd;
}

Result<void> check_exprs(const wabt::Module& m, const wabt::ExprList& exprs, const std::string& func) {
  for (const wabt::Expr& e : exprs) {
    switch (e.type()) {
      case wabt::ExprType::SimdLaneOp:
      case wabt::ExprType::SimdLoadLane:
      case wabt::ExprType::SimdStoreLane:
      case wabt::ExprType::SimdShuffleOp:
      case wabt::ExprType::LoadSplat:
      case wabt::ExprType::LoadZero: return refuse_simd(func);
      case wabt::ExprType::Load: if (simd_opcode<wabt::LoadExpr>(e)) return refuse_simd(func); break;
      case wabt::ExprType::Store: if (simd_opcode<wabt::StoreExpr>(e)) return refuse_simd(func); break;
      case wabt::ExprType::Unary: if (simd_opcode<wabt::UnaryExpr>(e)) return refuse_simd(func); break;
      case wabt::ExprType::Binary: if (simd_opcode<wabt::BinaryExpr>(e)) return refuse_simd(func); break;
      case wabt::ExprType::Compare: if (simd_opcode<wabt::CompareExpr>(e)) return refuse_simd(func); break;
      case wabt::ExprType::Convert: if (simd_opcode<wabt::ConvertExpr>(e)) return refuse_simd(func); break;
      case wabt::ExprType::Ternary: if (simd_opcode<wabt::TernaryExpr>(e)) return refuse_simd(func); break;
      case wabt::ExprType::Const:
        if (wabt::cast<wabt::ConstExpr>(&e)->const_.type() == wabt::Type::V128) return refuse_simd(func);
        break;
      case wabt::ExprType::CallIndirect:
      case wabt::ExprType::ReturnCallIndirect: {
        const wabt::Var& var = e.type() == wabt::ExprType::CallIndirect
                                   ? wabt::cast<wabt::CallIndirectExpr>(&e)->table
                                   : wabt::cast<wabt::ReturnCallIndirectExpr>(&e)->table;
        const wabt::Table* t = m.GetTable(var);
        if (t && t->elem_type != wabt::Type::FuncRef)
          return make_error("type mismatch: call_indirect through a table of " +
                            std::string(t->elem_type.GetName()) + " in function " + func);
        break;
      }
      case wabt::ExprType::Block:
        WINK_TRY(check_exprs(m, wabt::cast<wabt::BlockExpr>(&e)->block.exprs, func));
        break;
      case wabt::ExprType::Loop:
        WINK_TRY(check_exprs(m, wabt::cast<wabt::LoopExpr>(&e)->block.exprs, func));
        break;
      case wabt::ExprType::If: {
        const auto* i = wabt::cast<wabt::IfExpr>(&e);
        WINK_TRY(check_exprs(m, i->true_.exprs, func));
        WINK_TRY(check_exprs(m, i->false_, func));
        break;
      }
      default: break;
    }
  }
  return {};
}

}  // namespace

Result<void> check_before_ir(std::span<const uint8_t> wasm) {
  wabt::Features features;
  features.disable_simd();
  wabt::ReadBinaryOptions options(features, nullptr, /*read_debug_names=*/false,
                                  /*stop_on_first_error=*/true, /*fail_on_custom_section_error=*/false);
  options.skip_function_bodies = true;  // only constant expressions matter here
  ConstantExpressions exprs;
  // Any other failure is malformed input that wabt's IR reader reports itself,
  // at the same byte or earlier.
  if (wabt::Failed(wabt::ReadBinary(wasm.data(), wasm.size(), &exprs, options)) && !exprs.refusal().empty())
    return make_error(exprs.refusal());
  return {};
}

Result<void> check_spec_gaps(std::span<const uint8_t> wasm, const wabt::Module& m) {
  WINK_TRY(check_sections(wasm));
  WINK_TRY(check_block_balance(wasm));
  for (const wabt::DataSegment* d : m.data_segments)
    if (d->kind == wabt::SegmentKind::Active && !offset_is_i32(m, d->offset))
      return make_error("type mismatch: the offset of data segment " + d->name + " is not an i32 constant");
  for (const wabt::ElemSegment* s : m.elem_segments)
    if (s->kind == wabt::SegmentKind::Active && !offset_is_i32(m, s->offset))
      return make_error("type mismatch: the offset of element segment " + s->name + " is not an i32 constant");
  for (size_t i = m.num_func_imports; i < m.funcs.size(); ++i)
    WINK_TRY(check_exprs(m, m.funcs[i]->exprs, m.funcs[i]->name));
  return {};
}

}  // namespace wink::compiler
