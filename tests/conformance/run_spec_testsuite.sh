#!/usr/bin/env bash
# Runs the WebAssembly core spec tests of Wasm 2.0 (WebAssembly/testsuite, the
# .wast files at the top level of the checkout, not proposals/) through
# `wink wast`. Not part of ctest: it compiles about 1200 modules (a few
# minutes on 2 cores; the artifact cache makes reruns fast). Fetches nothing.
#
#   tests/conformance/run_spec_testsuite.sh TESTSUITE_DIR [WINK]
#
# TESTSUITE_DIR is a checkout of WebAssembly/testsuite at the last commit
# whose top level is Wasm 2.0 (later commits put Wasm 3.0 there), e.g.
#   git clone https://github.com/WebAssembly/testsuite && git -C testsuite checkout a810159
# (see docs/conformance.md). Prints wink wast's line per file and the total;
# exits 1 on any failure.
set -u
suite=${1:?usage: run_spec_testsuite.sh TESTSUITE_DIR [WINK]}
wink=${2:-$(dirname "$0")/../../build/src/cli/wink}
wink=$(realpath "$wink")
export WINK_DATA_DIR=${WINK_DATA_DIR:-$HOME/.cache/wink-spec-testsuite}

# Scripts wabt 1.0.32's wast2json cannot read (text syntax newer than it:
# table instructions without a table index, `if` with a folded condition
# after the block type, a comment form), skipped whole with that reason.
unreadable="comments.wast if.wast table_fill.wast table_get.wast table_grow.wast table_set.wast table_size.wast"

files=()
for f in "$suite"/*.wast; do
  name=$(basename "$f")
  if [[ " $unreadable " == *" $name "* ]]; then
    echo "$name: skipped whole: wast2json (wabt 1.0.32) cannot parse this script's text syntax"
    continue
  fi
  files+=("$f")
done
exec "$wink" wast "${files[@]}"
