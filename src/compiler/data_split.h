// Modules that differ only in their data share one compiled artifact.
//
// Every componentize-js app is the same StarlingMonkey engine (about 9 MB of
// code) with a different Wizer-initialized heap (its data segments). The
// artifact cache is keyed by the bytes it compiles, so the engine compiles
// the module's *code module* (the module without its data, data count and
// custom sections) and writes the data segments into the memory itself, at
// instantiation, from the module's own bytes. Two apps with the same code
// then have the same key; the key still hashes every byte the artifact
// depends on, so no two different code modules can share an artifact.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <span>
#include <vector>

#include "common/result.h"

namespace wink::compiler {

// The active data segments of one module, applied in order at instantiation.
struct DataImage {
  struct Segment {
    uint32_t offset = 0;  // in memory 0 (an i32.const offset, as unsigned)
    uint32_t size = 0;
    uint64_t at = 0;      // where its bytes start in `bytes`
  };
  std::vector<uint8_t> bytes;  // every segment's payload, concatenated
  std::vector<Segment> segments;
  // sha256 (hex) of the segment table and bytes: with the artifact's
  // module_hash it names what an instance starts from (snapshots key on it).
  std::string hash;
};

struct SplitModule {
  std::vector<uint8_t> code;               // what is compiled (and hashed for the key)
  std::shared_ptr<const DataImage> data;   // what each instance gets written
};

// Splits `wasm` when that keeps its meaning exactly: it defines memory 0, has
// no start function (the start function would run before the data is there),
// and every data segment is active, on memory 0, at an `i32.const` offset.
// Anything else (passive segments, a start section, a malformed data
// section, no data at all) gives nullopt: compile the module whole, where
// validation reports what is wrong. A code module that then fails validation
// on its own (memory.init/data.drop need the data count) is compiled whole
// too (see Engine::load_bytes).
std::optional<SplitModule> split_data(std::span<const uint8_t> wasm);

// Writes the segments into a memory of `memory_size` bytes, in module order,
// as instantiation does: a segment that ends past the memory is an error
// naming it (the instantiation traps, out of bounds).
Result<void> apply_data(const DataImage& image, uint8_t* memory, uint64_t memory_size);

}  // namespace wink::compiler
