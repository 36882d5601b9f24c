#!/usr/bin/env bash
# Runs the official WASI preview1 testsuite (WebAssembly/wasi-testsuite, branch
# prod/testsuite-base, prebuilt .wasm files) against `wink run`, the way the
# suite's wasmtime adapter runs wasmtime: `--env K=V`, `--dir ROOT::/`, then
# the module and its args; the exit code and stdout must match the JSON file
# next to each test. Not part of ctest (needs the suite checked out).
#
#   tests/conformance/run_wasi_testsuite.sh WASI_TESTSUITE_DIR [WINK]
#
# WASI_TESTSUITE_DIR is a checkout of prod/testsuite-base, e.g.
#   git --git-dir=/path/wasi-testsuite.git archive prod/testsuite-base | tar -x -C /tmp/wasi-ts
# Prints `PASS name` / `FAIL name: why` per test and `passed N of M`; exits 1
# if any test failed.
set -u
suite=${1:?usage: run_wasi_testsuite.sh WASI_TESTSUITE_DIR [WINK]}
wink=${2:-$(dirname "$0")/../../build/src/cli/wink}
wink=$(realpath "$wink")
data_dir=$(mktemp -d)
export WINK_DATA_DIR=$data_dir
trap 'rm -rf "$data_dir"' EXIT

passed=0
total=0
for wasm in "$suite"/tests/*/testsuite/wasm32-wasip1/*.wasm; do
  dir=$(dirname "$wasm")
  name=$(basename "$(dirname "$(dirname "$dir")")")/$(basename "$wasm" .wasm)
  json=${wasm%.wasm}.json
  [ -f "$json" ] || json=/dev/null
  # The JSON spells args, env, root, exit_code, stdout; turn them into a
  # NUL-separated argv for wink plus the expected exit code and stdout.
  spec=$(mktemp)
  python3 - "$json" "$dir" "$wasm" "$spec" <<'PY'
import json, sys, os
path, test_dir, wasm, out = sys.argv[1:5]
cfg = json.load(open(path)) if path != "/dev/null" else {}
argv = ["run", "--data-dir", os.environ["WINK_DATA_DIR"]]
for k, v in cfg.get("env", {}).items():
    argv += ["--env", f"{k}={v}"]
if cfg.get("root"):
    argv += ["--dir", os.path.join(test_dir, cfg["root"]) + "::/"]
argv += [wasm] + cfg.get("args", [])
with open(out, "w") as f:
    f.write(str(cfg.get("exit_code", 0)) + "\n")
    f.write(json.dumps(cfg.get("stdout")) + "\n")
    f.write(json.dumps(argv) + "\n")
PY
  expected_code=$(sed -n 1p "$spec")
  expected_stdout=$(sed -n 2p "$spec")
  mapfile -d '' argv < <(python3 -c 'import json,sys; sys.stdout.write("\0".join(json.loads(sys.argv[1])))' "$(sed -n 3p "$spec")")
  rm -f "$spec"
  # The suite's runner removes *.cleanup files a test left before and after it.
  find "$dir" -name '*.cleanup' -prune -exec rm -rf {} + 2>/dev/null
  out=$(mktemp)
  err=$(mktemp)
  timeout 60 "$wink" "${argv[@]}" >"$out" 2>"$err" </dev/null
  code=$?
  find "$dir" -name '*.cleanup' -prune -exec rm -rf {} + 2>/dev/null
  total=$((total + 1))
  why=""
  [ "$code" = "$expected_code" ] || why="exit code $code, expected $expected_code"
  if [ "$expected_stdout" != "null" ]; then
    want=$(python3 -c 'import json,sys; sys.stdout.write(json.loads(sys.argv[1]))' "$expected_stdout")
    got=$(head -c ${#want} "$out")
    [ "$got" = "$want" ] || why="${why:+$why; }stdout \`$got\`, expected \`$want\`"
  fi
  if [ -z "$why" ]; then
    passed=$((passed + 1))
    echo "PASS $name"
  else
    echo "FAIL $name: $why; stderr: $(head -c 300 "$err" | tr '\n' ' ')"
  fi
  rm -f "$out" "$err"
done
echo "passed $passed of $total"
[ "$passed" = "$total" ]
