# Writes one WIT file: all.wit.in, then each package.wit of the given WASI
# directories as a nested package, then keyvalue-config.wit.
#   python3 combine_wit.py <jco builtin 0.2.12 dir> <this dir> <out.wit>
import os
import re
import sys

builtin, here, out = sys.argv[1:4]
parts = [open(os.path.join(here, "all.wit.in")).read()]
for d in ["wasi-io", "wasi-clocks", "wasi-random", "wasi-cli", "wasi-filesystem", "wasi-sockets", "wasi-http"]:
    text = open(os.path.join(builtin, d, "package.wit")).read()
    m = re.search(r"^package ([^;]+);", text, re.M)
    parts.append("package %s {\n%s\n}\n" % (m.group(1), text[: m.start()] + text[m.end():]))
parts.append(open(os.path.join(here, "keyvalue-config.wit")).read())
with open(out + ".tmp", "w") as f:
    f.write("".join(parts))
os.replace(out + ".tmp", out)
