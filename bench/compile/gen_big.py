#!/usr/bin/env python3
"""Writes a large synthetic C program (many varied functions: loops, switch,
float math, indirect calls) for compile benchmarks. Deterministic.
usage: gen_big.py NFUNCS > big.c"""
import random
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 12000
rng = random.Random(42)
out = []
w = out.append
w("#include <stdio.h>\n#include <stdint.h>\n#include <math.h>\n")
w("static uint32_t g_arr[256];\nstatic double g_f[64];\n")
w("typedef int32_t (*fn_t)(int32_t, int32_t, double);\n")

ops = ["+", "-", "*", "^", "|", "&"]

def expr(vars_, depth=0):
    if depth > 2 or rng.random() < 0.3:
        v = rng.choice(vars_)
        return v if rng.random() < 0.7 else str(rng.randint(1, 1000))
    return "(%s %s %s)" % (expr(vars_, depth + 1), rng.choice(ops), expr(vars_, depth + 1))

for i in range(n):
    kind = i % 5
    w("__attribute__((noinline)) int32_t f%d(int32_t a, int32_t b, double x) {\n" % i)
    if kind == 0:  # loop over the array
        w("  uint32_t s = %d;\n" % rng.randint(0, 99))
        w("  for (int32_t i = 0; i < (a & 63) + %d; i++) {\n" % rng.randint(1, 9))
        w("    s = s * %du + g_arr[(i + b) & 255] %s %s;\n" % (rng.randint(3, 99), rng.choice(ops), expr(["a", "b", "i", "s"])))
        w("    if (s %% %d == 0) g_arr[i & 255] ^= s;\n" % rng.randint(3, 17))
        w("  }\n  return (int32_t)s;\n")
    elif kind == 1:  # switch
        w("  int32_t r = 0;\n  switch ((a ^ b) & 15) {\n")
        for c in range(rng.randint(6, 14)):
            w("    case %d: r = %s; break;\n" % (c, expr(["a", "b", "r"])))
        w("    default: r = a - b;\n  }\n  return r + (int32_t)x;\n")
    elif kind == 2:  # float math
        w("  double y = x * %f + %f;\n" % (rng.random() * 3, rng.random()))
        for k in range(rng.randint(3, 8)):
            w("  y = y * %f %s %s;\n" % (rng.random(), rng.choice(["+", "-"]), rng.choice(["sqrt(fabs(y) + 1.0)", "floor(y * 0.5)", "g_f[(a + %d) & 63]" % k, "(double)b", "fmin(y, %f)" % rng.random()])))
        w("  g_f[b & 63] = y;\n  return (int32_t)(y * 1000.0) ^ a;\n")
    elif kind == 3:  # 64-bit integer mix, nested loops
        w("  uint64_t h = 1469598103934665603ull ^ (uint64_t)a;\n")
        w("  for (int32_t i = 0; i < (b & 7) + 2; i++)\n    for (int32_t j = 0; j < 4; j++)\n")
        w("      h = (h ^ (uint64_t)(i * %d + j)) * 1099511628211ull;\n" % rng.randint(1, 999))
        w("  return (int32_t)(h >> %d) + (int32_t)x;\n" % rng.randint(1, 31))
    else:  # calls to earlier functions
        w("  int32_t r = a;\n")
        for k in range(rng.randint(2, 5)):
            j = rng.randint(max(0, i - 200), max(0, i - 1)) if i > 0 else None
            if j is not None and j != i:
                w("  if ((r & %d) == %d) r += f%d(b, r, x * 0.5);\n" % (7, rng.randint(0, 7), j))
        w("  return r ^ %s;\n" % expr(["a", "b"]))
    w("}\n")

w("static const fn_t table[] = {\n")
for i in range(n):
    w("  f%d,\n" % i)
w("};\n")
w("""int main(int argc, char** argv) {
  for (int i = 0; i < 256; i++) g_arr[i] = (uint32_t)i * 2654435761u;
  for (int i = 0; i < 64; i++) g_f[i] = i * 0.25;
  uint32_t sum = 0;
  for (uint32_t i = 0; i < sizeof table / sizeof table[0]; i++)
    sum = sum * 31 + (uint32_t)table[i]((int32_t)i, argc, 1.5);
  printf("checksum %u\\n", sum);
  return 0;
}
""")
sys.stdout.write("".join(out))
