// Front end of the compile pipeline: parses and validates a module with
// libwabt, refuses what wink cannot run (unsupported features, imports the
// host does not provide), and describes the module's interface for the glue.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "runtime/host_module.h"

namespace wabt {
struct Module;
}

namespace wink::compiler {

// One export, as the glue needs it. Signatures use artifact_abi.h notation.
struct ExportInfo {
  std::string name;
  uint32_t kind = 0;  // wink_extern_kind_t
  std::string params;   // functions: parameter types; globals: the value type
  std::string results;  // functions only
};

// One import of a module compiled for linking (see wink_import_t).
struct ImportInfo {
  std::string module, name;
  uint32_t kind = 0;    // wink_extern_kind_t
  std::string params;   // functions: parameter types; globals: value type; tables: 'r'/'e'
  std::string results;  // functions: result types; globals: "m" when mutable
  uint64_t min = 0, max = UINT64_MAX;  // memories (pages), tables (elements)
};

// A parsed and validated module. Owns the wabt IR (needed by the C writer).
struct ParsedModule {
  ParsedModule();
  ~ParsedModule();
  ParsedModule(ParsedModule&&) noexcept;
  ParsedModule& operator=(ParsedModule&&) noexcept;

  std::unique_ptr<wabt::Module> ir;
  std::vector<ExportInfo> exports;
  std::vector<std::string> import_modules;  // distinct, as in the import section
  bool has_memory = false;                  // has memory 0 (defined or imported)
  bool has_start = false;                   // has a start function
  std::vector<ImportInfo> imports;          // every import, in order (linked modules)
  bool linked = false;                      // parsed for linking (parse_module's `linked`)
  uint64_t code_bytes = 0;                  // size of the code section payload
  uint64_t data_bytes = 0;                  // sum of data segment sizes
  uint32_t num_functions = 0;               // defined (not imported) functions
};

// Reads, validates and checks `wasm` against `host_imports`. Errors name what
// is wrong and where: section, function index and byte offset when known.
// `linked`: the module is a component's core module, whose imports (functions,
// memories, tables, globals) are bound per instance by the linker, not by
// name against the host: `host_imports` is not consulted.
Result<ParsedModule> parse_module(std::span<const uint8_t> wasm,
                                  std::span<const runtime::HostImport> host_imports, bool linked = false);

// Size of the code section of `wasm` (0 if none or unreadable); cheap.
uint64_t code_section_size(std::span<const uint8_t> wasm);

// Signature of a function type in artifact_abi.h notation, e.g. "(iI)->f".
std::string describe_signature(const std::string& params, const std::string& results);

}  // namespace wink::compiler
