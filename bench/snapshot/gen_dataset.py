#!/usr/bin/env python3
"""Writes dataset.inc: a C string literal of N CSV rows "id,name,price"."""
import random, sys
n = int(sys.argv[2]) if len(sys.argv) > 2 else 200000
rng = random.Random(42)
with open(sys.argv[1], "w") as f:
    for i in range(n):
        name = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(5, 16)))
        f.write('"%d,%s,%.2f\\n"\n' % (i, name, rng.uniform(1, 1000)))
