#!/usr/bin/env bash
# The sanitized build (build-sanitize/) and its runtime options, one home for
# scripts/test.sh --sanitize and scripts/fuzz.sh.
#   bash scripts/sanitize_env.sh configure DIR   configures DIR (clang, ASan + UBSan, fuzzers)
#   source scripts/sanitize_env.sh               exports ASAN_OPTIONS, UBSAN_OPTIONS, LSAN_OPTIONS
# Why each option (docs/testing.md, "Sanitizers"):
#   allow_user_segv_handler=1  guest code is generated C whose out-of-bounds
#       accesses and stack exhaustion are SIGSEGVs in guard pages that the
#       runtime's handler turns into traps; ASan must let it install that
#       handler (the default on Linux, stated so nobody flips it)
#   handle_segv=0, handle_sigbus=0, handle_sigfpe=0  ...and must not report
#       those signals itself when the runtime's handler is not (yet) there
#   detect_stack_use_after_return=0  traps longjmp out of guest frames; fake
#       stacks would also move host-call frames off the guarded thread stack
#   use_sigaltstack=0  the runtime gives each guest thread its own alternate
#       signal stack (stack-exhaustion traps run on it)
#   abort_on_error=0, exitcode=86  a finding fails the process (and the test)
#       with a recognisable status
#   halt_on_error=1, print_stacktrace=1 (UBSan)  the first undefined
#       behaviour stops the program with its stack
#   LSAN suppressions: tests/sanitize/lsan.supp (each entry says why)
# One test changes them for its own child: StreamingComponent.Echoes64MiB
# WithoutHoldingIt (tests/http_component/streaming_test.cpp) starts its
# `wink up` with quarantine_size_mb=0:thread_local_quarantine_size_kb=0 added.
# With the quarantine (256 MiB) every freed buffer stays resident, so the peak
# RSS of a server streaming 64 MiB grows by ~300 MiB without holding the body;
# without it the normal build's bound (peak +16 MiB) holds and still catches a
# server that keeps the body. The other ASan checks stay on for that process.
_wink_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ "${1:-}" == "configure" ]]; then
  set -euo pipefail
  cmake -S "$_wink_root" -B "$2" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
    -DWINK_SANITIZE=ON -DWINK_FUZZ=ON -DWINK_WERROR=OFF -DWINK_BUILD_BENCH=OFF >/dev/null
  exit 0
fi
export ASAN_OPTIONS="allow_user_segv_handler=1:handle_segv=0:handle_sigbus=0:handle_sigfpe=0:detect_stack_use_after_return=0:use_sigaltstack=0:abort_on_error=0:exitcode=86:strict_string_checks=0:detect_leaks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$_wink_root/tests/sanitize/lsan.supp:print_suppressions=0"
