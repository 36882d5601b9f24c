// WAT -> binary with libwabt: the tests' own assembler, for modules whose
// exact shape a test chooses at run time (memory sizes, globals).
#pragma once

#include <gtest/gtest.h>

#include <wabt/binary-writer.h>
#include <wabt/ir.h>
#include <wabt/resolve-names.h>
#include <wabt/stream.h>
#include <wabt/wast-lexer.h>
#include <wabt/wast-parser.h>

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace wink::test {

// `names`: keep the text's names ($f, $x) in the name section, as a
// compiler's debug names (wasm2c names C functions after them).
inline std::vector<uint8_t> wat(std::string_view text, bool names = false) {
  wabt::Errors errors;
  wabt::Features features;
  auto lexer = wabt::WastLexer::CreateBufferLexer("test.wat", text.data(), text.size(), &errors);
  std::unique_ptr<wabt::Module> m;
  wabt::WastParseOptions options(features);
  EXPECT_TRUE(wabt::Succeeded(wabt::ParseWatModule(lexer.get(), &m, &errors, &options)))
      << (errors.empty() ? "" : errors[0].message);
  // Names ($f, $g) become indices, as wat2wasm does.
  if (m) {
    EXPECT_TRUE(wabt::Succeeded(wabt::ResolveNamesModule(m.get(), &errors)))
        << (errors.empty() ? "" : errors[0].message);
  }
  wabt::MemoryStream stream;
  wabt::WriteBinaryOptions write_options;
  write_options.write_debug_names = names;
  EXPECT_TRUE(wabt::Succeeded(wabt::WriteBinaryModule(&stream, m.get(), write_options)));
  return stream.output_buffer().data;
}

}  // namespace wink::test
