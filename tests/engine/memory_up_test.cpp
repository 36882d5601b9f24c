// Memory left behind, at the interface a tenant touches: two components of
// different memory_limit served by one `wink up` (--workers 1), a 4 GiB
// writer and a 1 MiB reader. Whatever thread runs guests, the next instance
// taking a slot from the same memory pool must read zeros.
#include <gtest/gtest.h>

#include "support/wink_up.h"

namespace wink::test {
namespace {

TEST(MemoryUp, FourGiBWriterLeavesNothingForAOneMiBReader) {
  auto dir = scratch_dir("memory-up");
  WinkUp up;
  ASSERT_TRUE(up.start(dir, R"([app]
name = "tenants"

[[route]]
path = "/writer"
component = "writer"

[[route]]
path = "/reader"
component = "reader"

[component.writer]
source = ")" + guest_wasm("mem_writer_4gib").string() + R"("
memory_limit = "4GiB"

[component.reader]
source = ")" + guest_wasm("mem_reader_1mib").string() + R"("
memory_limit = "1MiB"
)", {"--workers", "1"}))
      << up.output();
  const std::string zeros = "read:" + std::string(8, '\0') + "\n";
  for (int round = 0; round < 4; ++round) {
    // (Not fatal: what matters is what the next instance reads.)
    HttpResponse w = up.get("/writer");
    EXPECT_EQ(w.status, 200) << w.body << up.output();
    EXPECT_EQ(w.body, "wrote\n");
    HttpResponse r = up.get("/reader");
    ASSERT_EQ(r.status, 200) << r.body << up.output();
    EXPECT_EQ(r.body, zeros) << "round " << round << ": the reader saw the writer's bytes";
  }
  EXPECT_EQ(up.stop(), 0) << up.output();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace wink::test
