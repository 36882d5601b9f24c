# One helper for every wink library: standard and warnings in one place.
function(wink_set_options target)
  target_compile_features(${target} PUBLIC cxx_std_20)
  set_target_properties(${target} PROPERTIES CXX_EXTENSIONS OFF POSITION_INDEPENDENT_CODE ON)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter
                         -Wno-missing-field-initializers)
  if(WINK_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  # WINK_SANITIZE / WINK_FUZZ flags apply to everything (top-level CMakeLists.txt).
endfunction()

# wink_add_library(NAME SOURCES ... DEPS ...): a component library `wink_NAME`
# whose public headers live in src/ (included as "NAME/header.h").
function(wink_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(wink_${name} STATIC ${ARG_SOURCES})
  target_include_directories(wink_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(wink_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  wink_set_options(wink_${name})
endfunction()

# Guest programs: C compiled to wasm32-wasi by clang from Debian (wasi-libc,
# lld, libclang-rt-14-dev-wasm32).
find_program(WINK_WASM_CC NAMES clang-14 clang)
set(WINK_GUEST_DIR ${CMAKE_BINARY_DIR}/guests)
file(MAKE_DIRECTORY ${WINK_GUEST_DIR})

# wink_add_guest(NAME SOURCE src.c [FLAGS ...]) -> ${WINK_GUEST_DIR}/NAME.wasm,
# and a target guest_NAME; all guests hang off the `guests` target.
if(NOT TARGET guests)
  add_custom_target(guests ALL)
endif()
function(wink_add_guest name)
  cmake_parse_arguments(ARG "" "SOURCE" "FLAGS;DEPENDS" ${ARGN})
  set(out ${WINK_GUEST_DIR}/${name}.wasm)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${WINK_WASM_CC} --target=wasm32-wasi -O2 ${ARG_FLAGS} -MD -MF ${out}.d -o ${out} ${ARG_SOURCE}
    DEPENDS ${ARG_SOURCE} ${ARG_DEPENDS}
    # Headers a guest includes (sdk/wink.h, ...) rebuild it when they change.
    DEPFILE ${out}.d
    COMMENT "guest ${name}.wasm"
    VERBATIM)
  add_custom_target(guest_${name} DEPENDS ${out})
  add_dependencies(guests guest_${name})
endfunction()

# wink_add_fuzzer(NAME SOURCES ... DEPS ... CORPUS dir... [GUESTS guest...]): a libFuzzer target
# (LLVMFuzzerTestOneInput in SOURCES). Every build replays the corpus
# directories through it as the ctest test NAME_corpus (NAME_replay, with
# tests/fuzz/replay_main.cpp); with -DWINK_FUZZ=ON (clang) the fuzzer NAME
# itself is built too, part of the
# `fuzzers` target, and listed with its corpus in fuzzers.txt for
# scripts/fuzz.sh. A crash a fuzzer found is kept as a file in CORPUS.
function(wink_add_fuzzer name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;CORPUS;GUESTS" ${ARGN})
  set(exes ${name}_replay)
  add_executable(${name}_replay ${ARG_SOURCES} ${PROJECT_SOURCE_DIR}/tests/fuzz/replay_main.cpp)
  add_test(NAME ${name}_corpus COMMAND ${name}_replay ${ARG_CORPUS})
  set_tests_properties(${name}_corpus PROPERTIES TIMEOUT 300)
  if(WINK_FUZZ)
    add_executable(${name} ${ARG_SOURCES})
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    list(APPEND exes ${name})
    if(NOT TARGET fuzzers)
      add_custom_target(fuzzers)
    endif()
    add_dependencies(fuzzers ${name})
    list(JOIN ARG_CORPUS " " dirs)
    file(APPEND ${CMAKE_BINARY_DIR}/fuzzers.txt "${name} ${CMAKE_CURRENT_BINARY_DIR}/${name} ${dirs}\n")
  endif()
  foreach(exe ${exes})
    target_link_libraries(${exe} PRIVATE ${ARG_DEPS})
    target_include_directories(${exe} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
    target_compile_definitions(${exe} PRIVATE
      WINK_GUEST_DIR="${WINK_GUEST_DIR}"
      WINK_TEST_CACHE_DIR="${CMAKE_BINARY_DIR}/test-cache"
      WINK_EXAMPLES_DIR="${PROJECT_SOURCE_DIR}/examples")
    wink_set_options(${exe})
    foreach(guest ${ARG_GUESTS})
      add_dependencies(${exe} guest_${guest})
    endforeach()
  endforeach()
endfunction()
