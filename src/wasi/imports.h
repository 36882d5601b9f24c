// Internal to src/wasi: the list of every wasi_snapshot_preview1 function
// with its Wasm signature, expanded into the extern "C" prototypes the
// wasm2c-generated code calls (Z_wasi_snapshot_preview1Z_<name>) and into
// host_imports(). A compile-time check ties each signature string to the C
// prototype, so the two cannot drift apart.
#pragma once

#include <cstdint>

struct Z_wasi_snapshot_preview1_instance_t;

// X(result C type, name, params, results, C parameter types after the instance)
#define WINK_WASI_IMPORTS(X)                                                                       \
  X(uint32_t, args_get, "ii", "i", (uint32_t, uint32_t))                                           \
  X(uint32_t, args_sizes_get, "ii", "i", (uint32_t, uint32_t))                                     \
  X(uint32_t, environ_get, "ii", "i", (uint32_t, uint32_t))                                        \
  X(uint32_t, environ_sizes_get, "ii", "i", (uint32_t, uint32_t))                                  \
  X(uint32_t, clock_res_get, "ii", "i", (uint32_t, uint32_t))                                      \
  X(uint32_t, clock_time_get, "iIi", "i", (uint32_t, uint64_t, uint32_t))                          \
  X(uint32_t, fd_advise, "iIIi", "i", (uint32_t, uint64_t, uint64_t, uint32_t))                    \
  X(uint32_t, fd_allocate, "iII", "i", (uint32_t, uint64_t, uint64_t))                             \
  X(uint32_t, fd_close, "i", "i", (uint32_t))                                                      \
  X(uint32_t, fd_datasync, "i", "i", (uint32_t))                                                   \
  X(uint32_t, fd_fdstat_get, "ii", "i", (uint32_t, uint32_t))                                      \
  X(uint32_t, fd_fdstat_set_flags, "ii", "i", (uint32_t, uint32_t))                                \
  X(uint32_t, fd_fdstat_set_rights, "iII", "i", (uint32_t, uint64_t, uint64_t))                    \
  X(uint32_t, fd_filestat_get, "ii", "i", (uint32_t, uint32_t))                                    \
  X(uint32_t, fd_filestat_set_size, "iI", "i", (uint32_t, uint64_t))                               \
  X(uint32_t, fd_filestat_set_times, "iIIi", "i", (uint32_t, uint64_t, uint64_t, uint32_t))        \
  X(uint32_t, fd_pread, "iiiIi", "i", (uint32_t, uint32_t, uint32_t, uint64_t, uint32_t))          \
  X(uint32_t, fd_prestat_get, "ii", "i", (uint32_t, uint32_t))                                     \
  X(uint32_t, fd_prestat_dir_name, "iii", "i", (uint32_t, uint32_t, uint32_t))                     \
  X(uint32_t, fd_pwrite, "iiiIi", "i", (uint32_t, uint32_t, uint32_t, uint64_t, uint32_t))         \
  X(uint32_t, fd_read, "iiii", "i", (uint32_t, uint32_t, uint32_t, uint32_t))                      \
  X(uint32_t, fd_readdir, "iiiIi", "i", (uint32_t, uint32_t, uint32_t, uint64_t, uint32_t))        \
  X(uint32_t, fd_renumber, "ii", "i", (uint32_t, uint32_t))                                        \
  X(uint32_t, fd_seek, "iIii", "i", (uint32_t, uint64_t, uint32_t, uint32_t))                      \
  X(uint32_t, fd_sync, "i", "i", (uint32_t))                                                       \
  X(uint32_t, fd_tell, "ii", "i", (uint32_t, uint32_t))                                            \
  X(uint32_t, fd_write, "iiii", "i", (uint32_t, uint32_t, uint32_t, uint32_t))                     \
  X(uint32_t, path_create_directory, "iii", "i", (uint32_t, uint32_t, uint32_t))                   \
  X(uint32_t, path_filestat_get, "iiiii", "i", (uint32_t, uint32_t, uint32_t, uint32_t, uint32_t)) \
  X(uint32_t, path_filestat_set_times, "iiiiIIi", "i",                                             \
    (uint32_t, uint32_t, uint32_t, uint32_t, uint64_t, uint64_t, uint32_t))                        \
  X(uint32_t, path_link, "iiiiiii", "i",                                                           \
    (uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t))                        \
  X(uint32_t, path_open, "iiiiiIIii", "i",                                                         \
    (uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint64_t, uint64_t, uint32_t, uint32_t))    \
  X(uint32_t, path_readlink, "iiiiii", "i",                                                        \
    (uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t))                                  \
  X(uint32_t, path_remove_directory, "iii", "i", (uint32_t, uint32_t, uint32_t))                   \
  X(uint32_t, path_rename, "iiiiii", "i",                                                          \
    (uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t))                                  \
  X(uint32_t, path_symlink, "iiiii", "i", (uint32_t, uint32_t, uint32_t, uint32_t, uint32_t))      \
  X(uint32_t, path_unlink_file, "iii", "i", (uint32_t, uint32_t, uint32_t))                        \
  X(uint32_t, poll_oneoff, "iiii", "i", (uint32_t, uint32_t, uint32_t, uint32_t))                  \
  X(void, proc_exit, "i", "", (uint32_t))                                                          \
  X(uint32_t, proc_raise, "i", "i", (uint32_t))                                                    \
  X(uint32_t, sched_yield, "", "i", ())                                                            \
  X(uint32_t, random_get, "ii", "i", (uint32_t, uint32_t))                                         \
  X(uint32_t, sock_accept, "iii", "i", (uint32_t, uint32_t, uint32_t))                             \
  X(uint32_t, sock_recv, "iiiiii", "i",                                                            \
    (uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t))                                  \
  X(uint32_t, sock_send, "iiiii", "i", (uint32_t, uint32_t, uint32_t, uint32_t, uint32_t))         \
  X(uint32_t, sock_shutdown, "ii", "i", (uint32_t, uint32_t))

#define WINK_WASI_PARAMS_(...) (Z_wasi_snapshot_preview1_instance_t * __VA_OPT__(, ) __VA_ARGS__)
// The entry points the generated code calls: defined in context.cpp, each
// runs the body below through runtime::host_call (never throws, never longjmps
// over host frames).
#define WINK_WASI_DECLARE_(ret, name, params, results, args) \
  ret Z_wasi_snapshot_preview1Z_##name WINK_WASI_PARAMS_ args noexcept;
// The bodies (fd.cpp, path.cpp, poll.cpp, misc.cpp): may throw; do not longjmp.
#define WINK_WASI_DECLARE_IMPL_(ret, name, params, results, args) ret name WINK_WASI_PARAMS_ args;

extern "C" {
WINK_WASI_IMPORTS(WINK_WASI_DECLARE_)
}

namespace wink::wasi::impl {
WINK_WASI_IMPORTS(WINK_WASI_DECLARE_IMPL_)
}
