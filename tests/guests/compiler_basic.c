// wink-guest-flags: -nostdlib -Wl,--no-entry
// A guest without imports for the compiler tests: integer, float and
// memory-reading exports, plus an initialized data segment.
static const char kTable[16] = "wink-data-seg-01";
static int counter = 7;

__attribute__((export_name("add"))) int add(int a, int b) { return a + b; }
__attribute__((export_name("mul_f64"))) double mul_f64(double a, float b) { return a * b; }
__attribute__((export_name("sum_table"))) long long sum_table(long long n) {
  long long s = 0;
  for (long long i = 0; i < n; i++) s += kTable[i % 16];
  return s;
}
__attribute__((export_name("bump"))) int bump(void) { return ++counter; }
