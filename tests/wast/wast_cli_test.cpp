// `wink wast` as a user runs it: hand-written spec scripts in scripts/ cover
// every command kind (passing), a failing assertion (counted, exit 1, the
// line named) and a script wast2json cannot read (its position reported).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/wink_process.h"

namespace {

namespace fs = std::filesystem;

using Proc = wink::test::RunResult;

std::string script(const char* name) { return std::string(WINK_WAST_SCRIPTS) + "/" + name; }

Proc wast(std::vector<std::string> files) {
  std::vector<std::string> args{"wast", "--data-dir", WINK_TEST_CACHE_DIR, "-j", "2"};
  args.insert(args.end(), files.begin(), files.end());
  return wink::test::run_wink(args);
}

TEST(WastCli, EveryCommandKindPasses) {
  Proc r = wast({script("each_kind.wast")});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  // 3 modules, 1 register, 1 action, 15 assert_return, 4 assert_trap,
  // 1 assert_exhaustion, 1 assert_invalid, 2 assert_malformed (binary, text),
  // 3 assert_unlinkable, 2 assert_uninstantiable.
  EXPECT_NE(r.out.find("each_kind.wast: 33 passed / 0 failed / 0 skipped\n"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("total: 33 passed / 0 failed / 0 skipped in 1 file(s)\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find("FAIL"), std::string::npos) << r.err;
}

// Spec modules link the way components do (linker/core_link.h): externref
// and multi-value calls cross instances directly, and the linker's import
// matching refuses global mutability, table element type, memory limits
// (a memory without a maximum for an import with one) and kind mismatches.
TEST(WastCli, ModulesLinkThroughTheLinkersTables) {
  Proc r = wast({script("links.wast")});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  // 5 modules, 2 register, 6 assert_return, 8 assert_unlinkable.
  EXPECT_NE(r.out.find("links.wast: 21 passed / 0 failed / 0 skipped\n"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(r.err.find("FAIL"), std::string::npos) << r.err;
}

// Each of these was accepted before wink's checks on top of wabt 1.0.32.
TEST(WastCli, SpecRulesWabtMissesAreEnforced) {
  Proc r = wast({script("spec_gaps.wast")});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("spec_gaps.wast: 11 passed / 0 failed / 2 skipped\n"
                       "  skipped 1: SIMD (wasm2c 1.0.32 cannot translate v128)\n"
                       "  skipped 1: names holding \"*/\" or a line break (wasm2c 1.0.32 copies names into C "
                       "comments)\n"),
            std::string::npos) << r.out << r.err;
}

// Failed or skipped in the spec testsuite before: custom section names that
// are not UTF-8 (utf8-custom-section-id.wast), a body one `end` short behind
// a br_table (binary.wast), funcref results and null funcref arguments at the
// export boundary (select, ref_null, ref_is_null); no skip is left.
TEST(WastCli, Utf8NamesBlockBalanceAndFuncrefExports) {
  Proc r = wast({script("spec_fixes.wast")});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("spec_fixes.wast: 17 passed / 0 failed / 0 skipped\n"), std::string::npos) << r.out << r.err;
}

TEST(WastCli, FailingAssertionIsCountedAndNamed) {
  Proc r = wast({script("one_failure.wast")});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("one_failure.wast: 2 passed / 2 failed / 0 skipped\n"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("one_failure.wast:5: assert_return one: expected i32:0x00000002, got i32:0x00000001"),
            std::string::npos) << r.err;
  EXPECT_NE(r.err.find("one_failure.wast:6: one: expected the trap \"unreachable\", it returned"), std::string::npos)
      << r.err;
}

TEST(WastCli, MalformedScriptGivesPosition) {
  Proc r = wast({script("malformed_script.wast"), script("one_failure.wast")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("malformed_script.wast: error: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("malformed_script.wast:5:1: error: unexpected token EOF"), std::string::npos) << r.out;
  // The next file still runs, and the total says a file could not be run.
  EXPECT_NE(r.out.find("one_failure.wast: 2 passed / 2 failed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("in 2 file(s), 1 could not be run\n"), std::string::npos) << r.out;
}

TEST(WastCli, MissingFileIsAnError) {
  Proc r = wast({script("no_such_file.wast")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("no_such_file.wast: error:"), std::string::npos) << r.out;
}

}  // namespace
