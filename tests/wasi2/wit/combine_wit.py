# Writes one WIT file: a root (<root>.wit.in), then each package.wit of the
# WASI 0.2.12 directories as a nested package, then keyvalue-config.wit.
#   python3 combine_wit.py <jco builtin 0.2.12 dir> <this dir> <root> <out.wit>
import os
import re
import sys

builtin, here, root, out = sys.argv[1:5]
parts = [open(os.path.join(here, root + ".wit.in")).read()]
for d in ["wasi-io", "wasi-clocks", "wasi-random", "wasi-cli", "wasi-filesystem", "wasi-sockets", "wasi-http"]:
    text = open(os.path.join(builtin, d, "package.wit")).read()
    m = re.search(r"^package ([^;]+);", text, re.M)
    parts.append("package %s {\n%s\n}\n" % (m.group(1), text[: m.start()] + text[m.end():]))
parts.append(open(os.path.join(here, "keyvalue-config.wit")).read())
with open(out + ".tmp", "w") as f:
    f.write("".join(parts))
os.replace(out + ".tmp", out)
