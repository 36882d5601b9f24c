// A light scan of a core module embedded in a component: its imports and
// exports with function signatures, so aliases of core instance exports and
// `canon lift` signatures can be checked at parse time. Full validation is
// left to the compile pipeline (libwabt), which gets the module's bytes.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/result.h"
#include "component/model.h"
#include "component/reader.h"

namespace wink::component {

struct CoreModuleInfo {
  std::vector<CoreImportDecl> imports;
  std::vector<CoreExportDecl> exports;
};

// `bytes` is the module (from its magic), at absolute `offset` in the file.
Result<CoreModuleInfo> scan_core_module(std::span<const uint8_t> bytes, uint64_t offset);

// Reads a core value type byte; nullopt for types outside i32/i64/f32/f64
// (v128, references): those signatures are "unknown" to the component layer.
Result<std::optional<CoreValType>> read_core_val_type(Reader& r);
// Reads `0x60 params results` (the 0x60 already consumed).
Result<std::optional<CoreFuncSig>> read_core_func_type_body(Reader& r);
// Skips a core import/export descriptor of `kind` (table, memory, global, tag).
Result<void> skip_core_extern_desc(Reader& r, CoreSort kind);

}  // namespace wink::component
