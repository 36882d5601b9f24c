// libFuzzer target: the component parser on arbitrary bytes, then the
// Canonical ABI lifting every function's parameters out of a hostile guest
// memory (the input itself) in each string encoding. Nothing may crash,
// hang or read outside the memory; refusals are ordinary results.
#include <cstdint>
#include <vector>

#include "component/abi.h"
#include "component/parser.h"

using namespace wink::component;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  auto parsed = parse_component(bytes);
  if (!parsed.ok()) return 0;
  std::vector<uint8_t> memory(bytes.begin(), bytes.end());
  GuestMemory mem{memory.data(), memory.size()};
  for (StringEncoding enc : {StringEncoding::Utf8, StringEncoding::Utf16, StringEncoding::Latin1Utf16}) {
    AbiOptions opts;
    opts.string_encoding = enc;
    opts.memory = &mem;
    opts.max_lifted_bytes = 1 << 20;
    for (const FuncDef& f : parsed->funcs) {
      if (!f.type || f.type->params.empty()) continue;
      InstanceState inst;
      Subtask subtask;
      AbiContext cx(opts, inst, nullptr, &subtask);
      std::vector<CoreValue> spill{CoreValue::i32(static_cast<uint32_t>(size / 2) & ~7u)};
      FlatIter it(spill);
      (void)lift_flat_values(cx, 0, it, f.type->param_types());  // max_flat 0: always from memory
      subtask.deliver_resolve();
    }
  }
  return 0;
}
