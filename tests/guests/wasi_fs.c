// WASI file-system guest for tests/wasi. Preopens: fd 3 = /sandbox (read-write,
// a fresh temp dir), fd 4 = /ro (read-only). Modes (argv[1]): rw ro escape
// readdir leak many edges. Prints "ok ..." / "FAIL ..." and exits with the failure count.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>
#include <wasi/api.h>

static int failures = 0;
#define CHECK(cond, ...)                              \
  do {                                                \
    if (cond) {                                       \
      printf("ok %s\n", #cond);                       \
    } else {                                          \
      failures++;                                     \
      printf("FAIL %s (line %d): ", #cond, __LINE__); \
      printf(__VA_ARGS__);                            \
      printf("\n");                                   \
    }                                                 \
  } while (0)

#define RAW(name) __attribute__((import_module("wasi_snapshot_preview1"), import_name(#name)))
RAW(path_open)
int32_t raw_path_open(int32_t, int32_t, int32_t, int32_t, int32_t, int64_t, int64_t, int32_t,
                      int32_t);

#define SANDBOX 3
#define RO 4
static const __wasi_rights_t kRead = __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK |
                                     __WASI_RIGHTS_FD_TELL | __WASI_RIGHTS_FD_FILESTAT_GET |
                                     __WASI_RIGHTS_FD_READDIR;
static const __wasi_rights_t kWrite = __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE;
// A directory opened to be used as a base needs the path rights too.
static const __wasi_rights_t kDir =
    kRead | __WASI_RIGHTS_PATH_OPEN | __WASI_RIGHTS_PATH_CREATE_FILE |
    __WASI_RIGHTS_PATH_CREATE_DIRECTORY | __WASI_RIGHTS_PATH_FILESTAT_GET;

static __wasi_errno_t open_at(__wasi_fd_t dir, const char* path, int follow, __wasi_oflags_t oflags,
                              __wasi_rights_t rights, __wasi_fd_t* fd) {
  return __wasi_path_open(dir, follow ? __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW : 0, path, oflags, rights,
                          rights, 0, fd);
}

static char* slurp(const char* path) {
  static char buf[4096];
  FILE* f = fopen(path, "r");
  if (!f) return NULL;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  return buf;
}

static void mode_rw(void) {
  // Preopen names.
  __wasi_prestat_t pre;
  CHECK(__wasi_fd_prestat_get(SANDBOX, &pre) == 0 && pre.u.dir.pr_name_len == 8, "prestat");
  char name[16] = {0};
  CHECK(
      __wasi_fd_prestat_dir_name(SANDBOX, (uint8_t*)name, 8) == 0 && strcmp(name, "/sandbox") == 0,
      "name=%s", name);
  CHECK(__wasi_fd_prestat_dir_name(SANDBOX, (uint8_t*)name, 3) == __WASI_ERRNO_NAMETOOLONG,
        "short");
  CHECK(__wasi_fd_prestat_get(1, &pre) == __WASI_ERRNO_BADF, "prestat on stdout");
  CHECK(__wasi_fd_prestat_get(5, &pre) == __WASI_ERRNO_BADF, "prestat past the preopens");

  // Write, read back, seek, tell.
  FILE* f = fopen("/sandbox/a.txt", "w");
  CHECK(f != NULL, "fopen w errno=%d", errno);
  if (!f) return;
  fputs("hello, wasi\n", f);
  CHECK(ftell(f) == 12, "ftell=%ld", ftell(f));
  fclose(f);
  char* text = slurp("/sandbox/a.txt");
  CHECK(text && strcmp(text, "hello, wasi\n") == 0, "read back '%s'", text ? text : "(null)");
  f = fopen("/sandbox/a.txt", "a");
  fputs("more\n", f);
  fclose(f);
  text = slurp("/sandbox/a.txt");
  CHECK(text && strcmp(text, "hello, wasi\nmore\n") == 0, "append '%s'", text ? text : "(null)");

  int fd = open("/sandbox/a.txt", O_RDWR);
  CHECK(fd >= 0, "open rdwr errno=%d", errno);
  CHECK(lseek(fd, 7, SEEK_SET) == 7, "lseek set");
  char buf[64] = {0};
  CHECK(read(fd, buf, 4) == 4 && memcmp(buf, "wasi", 4) == 0, "read after seek '%s'", buf);
  CHECK(lseek(fd, 0, SEEK_CUR) == 11, "lseek cur");
  CHECK(lseek(fd, -5, SEEK_END) == 12, "lseek end");
  CHECK(lseek(fd, -100, SEEK_SET) == -1 && errno == EINVAL, "negative seek errno=%d", errno);
  __wasi_filesize_t pos = 0;
  CHECK(__wasi_fd_tell(fd, &pos) == 0 && pos == 12, "tell=%llu", (unsigned long long)pos);

  // pread/pwrite do not move the offset.
  CHECK(pwrite(fd, "HELLO", 5, 0) == 5, "pwrite");
  memset(buf, 0, sizeof buf);
  CHECK(pread(fd, buf, 5, 0) == 5 && memcmp(buf, "HELLO", 5) == 0, "pread '%s'", buf);
  CHECK(lseek(fd, 0, SEEK_CUR) == 12, "offset moved by pread/pwrite");

  // Vectored I/O.
  struct iovec iov[3] = {{"ab", 2}, {"", 0}, {"cd", 2}};
  CHECK(lseek(fd, 0, SEEK_END) == 17, "end");
  CHECK(writev(fd, iov, 3) == 4, "writev");
  char r1[3] = {0}, r2[3] = {0};
  struct iovec riov[2] = {{r1, 2}, {r2, 2}};
  CHECK(preadv(fd, riov, 2, 17) == 4 && strcmp(r1, "ab") == 0 && strcmp(r2, "cd") == 0, "preadv");

  // Stat, truncate, allocate, times, sync, advise.
  struct stat st;
  CHECK(fstat(fd, &st) == 0 && st.st_size == 21 && S_ISREG(st.st_mode), "fstat size=%lld",
        (long long)st.st_size);
  CHECK(ftruncate(fd, 5) == 0, "ftruncate");
  CHECK(fstat(fd, &st) == 0 && st.st_size == 5, "size after truncate=%lld", (long long)st.st_size);
  CHECK(__wasi_fd_allocate(fd, 0, 100) == 0, "fd_allocate");
  CHECK(fstat(fd, &st) == 0 && st.st_size == 100, "size after allocate=%lld",
        (long long)st.st_size);
  CHECK(__wasi_fd_filestat_set_size(fd, 5) == 0, "set_size");
  CHECK(__wasi_fd_advise(fd, 0, 0, __WASI_ADVICE_SEQUENTIAL) == 0, "advise");
  CHECK(__wasi_fd_advise(fd, 0, 0, 9) == __WASI_ERRNO_INVAL, "bad advice");
  CHECK(fsync(fd) == 0 && fdatasync(fd) == 0, "sync");
  CHECK(__wasi_fd_filestat_set_times(fd, 1000000000ull * 1000000, 2000000000ull * 1000000000ull,
                                     __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM) == 0,
        "set_times");
  CHECK(fstat(fd, &st) == 0 && st.st_mtim.tv_sec == 2000000000 && st.st_atim.tv_sec == 1000000,
        "mtime=%lld atime=%lld", (long long)st.st_mtim.tv_sec, (long long)st.st_atim.tv_sec);
  CHECK(__wasi_fd_filestat_set_times(fd, 0, 0, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_ATIM_NOW) ==
            __WASI_ERRNO_INVAL,
        "atim and atim_now");

  // fdstat, flags and rights.
  __wasi_fdstat_t fs;
  CHECK(__wasi_fd_fdstat_get(fd, &fs) == 0 && fs.fs_filetype == __WASI_FILETYPE_REGULAR_FILE,
        "fdstat filetype=%d", fs.fs_filetype);
  CHECK(__wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_APPEND) == 0, "set append");
  CHECK(write(fd, "Z", 1) == 1, "write append");
  CHECK(fstat(fd, &st) == 0 && st.st_size == 6, "append size=%lld", (long long)st.st_size);
  CHECK(__wasi_fd_fdstat_get(fd, &fs) == 0 && (fs.fs_flags & __WASI_FDFLAGS_APPEND), "flag kept");
  CHECK(__wasi_fd_fdstat_set_flags(fd, 0) == 0, "clear append");
  CHECK(__wasi_fd_fdstat_set_rights(fd, fs.fs_rights_base & ~__WASI_RIGHTS_FD_WRITE,
                                    fs.fs_rights_inheriting) == 0,
        "drop write");
  CHECK(write(fd, "x", 1) == -1, "write without the right");
  CHECK(__wasi_fd_fdstat_set_rights(fd, fs.fs_rights_base, fs.fs_rights_inheriting) ==
            __WASI_ERRNO_NOTCAPABLE,
        "rights cannot grow");

  // Renumber: fd moves, the old number is closed.
  int fd2 = open("/sandbox/a.txt", O_RDONLY);
  CHECK(fd2 >= 0, "open 2");
  CHECK(__wasi_fd_renumber(fd2, fd) == 0, "renumber");
  CHECK(__wasi_fd_close(fd2) == __WASI_ERRNO_BADF, "old number closed");
  memset(buf, 0, sizeof buf);
  CHECK(pread(fd, buf, 5, 0) == 5 && memcmp(buf, "HELLO", 5) == 0, "renumbered reads '%s'", buf);
  CHECK(close(fd) == 0, "close");
  CHECK(close(fd) == -1 && errno == EBADF, "double close");

  // Directories, rename, unlink, stat by path.
  CHECK(mkdir("/sandbox/d", 0755) == 0, "mkdir errno=%d", errno);
  CHECK(mkdir("/sandbox/d", 0755) == -1 && errno == EEXIST, "mkdir again errno=%d", errno);
  CHECK(mkdir("/sandbox/d/e/", 0755) == 0, "mkdir nested with slash errno=%d", errno);
  CHECK(rename("/sandbox/a.txt", "/sandbox/d/b.txt") == 0, "rename errno=%d", errno);
  CHECK(access("/sandbox/a.txt", F_OK) == -1 && errno == ENOENT, "old name gone");
  CHECK(stat("/sandbox/d/b.txt", &st) == 0 && st.st_size == 6, "stat renamed");
  CHECK(stat("/sandbox/d", &st) == 0 && S_ISDIR(st.st_mode), "stat dir");
  CHECK(rmdir("/sandbox/d") == -1 && errno == ENOTEMPTY, "rmdir non-empty errno=%d", errno);
  CHECK(unlink("/sandbox/d/e") == -1 && (errno == EISDIR || errno == EPERM), "unlink dir errno=%d",
        errno);
  CHECK(rmdir("/sandbox/d/e") == 0, "rmdir");
  CHECK(rmdir("/sandbox/d/b.txt") == -1 && errno == ENOTDIR, "rmdir file errno=%d", errno);

  // Symlinks and hard links inside the sandbox.
  CHECK(symlink("b.txt", "/sandbox/d/l") == 0, "symlink errno=%d", errno);
  char target[64] = {0};
  CHECK(readlink("/sandbox/d/l", target, sizeof target) == 5 && strcmp(target, "b.txt") == 0,
        "readlink '%s'", target);
  CHECK(readlink("/sandbox/d/l", target, 2) == 2, "readlink truncates");
  CHECK(readlink("/sandbox/d/b.txt", target, sizeof target) == -1 && errno == EINVAL,
        "readlink on file");
  CHECK(lstat("/sandbox/d/l", &st) == 0 && S_ISLNK(st.st_mode), "lstat link");
  CHECK(stat("/sandbox/d/l", &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 6,
        "stat through link");
  text = slurp("/sandbox/d/l");
  CHECK(text && strncmp(text, "HELLO", 5) == 0, "read through link");
  __wasi_fd_t wfd;
  CHECK(open_at(SANDBOX, "d/l", 0, 0, kRead, &wfd) == __WASI_ERRNO_LOOP, "nofollow open of a link");
  CHECK(link("/sandbox/d/b.txt", "/sandbox/hard") == 0, "link errno=%d", errno);
  CHECK(stat("/sandbox/hard", &st) == 0 && st.st_nlink == 2, "nlink=%d", (int)st.st_nlink);
  CHECK(__wasi_path_link(SANDBOX, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "d/l", SANDBOX, "hard2") ==
            __WASI_ERRNO_INVAL,
        "link follow");
  CHECK(unlink("/sandbox/hard") == 0, "unlink");
  CHECK(unlink("/sandbox/d/l") == 0, "unlink link");
  CHECK(unlink("/sandbox/nope") == -1 && errno == ENOENT, "unlink missing");

  // Path times.
  struct timeval tv[2] = {{100, 0}, {200, 0}};
  CHECK(utimes("/sandbox/d/b.txt", tv) == 0, "utimes errno=%d", errno);
  CHECK(stat("/sandbox/d/b.txt", &st) == 0 && st.st_mtim.tv_sec == 200, "mtime=%lld",
        (long long)st.st_mtim.tv_sec);
  CHECK(__wasi_path_filestat_set_times(SANDBOX, 0, "d/b.txt", 0, 300000000000ull,
                                       __WASI_FSTFLAGS_MTIM) == 0,
        "path set_times nofollow");
  CHECK(stat("/sandbox/d/b.txt", &st) == 0 && st.st_mtim.tv_sec == 300, "mtime=%lld",
        (long long)st.st_mtim.tv_sec);

  // Open flags: O_EXCL, O_TRUNC, O_DIRECTORY.
  CHECK(open("/sandbox/d/b.txt", O_WRONLY | O_CREAT | O_EXCL, 0644) == -1 && errno == EEXIST,
        "excl");
  fd = open("/sandbox/d/b.txt", O_WRONLY | O_TRUNC);
  CHECK(fd >= 0 && fstat(fd, &st) == 0 && st.st_size == 0, "trunc");
  close(fd);
  CHECK(open("/sandbox/d/b.txt", O_RDONLY | O_DIRECTORY) == -1 && errno == ENOTDIR, "O_DIRECTORY");
  CHECK(open("/sandbox/missing", O_RDONLY) == -1 && errno == ENOENT, "missing");
  CHECK(open_at(SANDBOX, "nothing/here", 0, __WASI_OFLAGS_CREAT, kRead | kWrite, &wfd) ==
            __WASI_ERRNO_NOENT,
        "creat in a missing dir");
  // Write rights belong in the inheriting set: as base rights of a directory
  // they are EISDIR (mode "edges").
  CHECK(__wasi_path_open(SANDBOX, 0, ".", __WASI_OFLAGS_DIRECTORY, kDir, kDir | kWrite, 0, &wfd) ==
            0,
        "open .");
  CHECK(__wasi_fd_fdstat_get(wfd, &fs) == 0 && fs.fs_filetype == __WASI_FILETYPE_DIRECTORY,
        "dir type");
  __wasi_fd_t sub;
  CHECK(open_at(wfd, "d/b.txt", 0, 0, kRead, &sub) == 0, "open relative to an opened dir");
  CHECK(__wasi_fd_close(sub) == 0, "close sub");
  // Rights are capabilities: a directory opened without PATH_OPEN cannot open.
  __wasi_fd_t bare;
  CHECK(open_at(SANDBOX, "d", 0, __WASI_OFLAGS_DIRECTORY, kRead, &bare) == 0, "open d");
  CHECK(open_at(bare, "b.txt", 0, 0, kRead, &sub) == __WASI_ERRNO_NOTCAPABLE, "no PATH_OPEN");
  CHECK(open_at(wfd, "d/b.txt", 0, 0, kRead | __WASI_RIGHTS_SOCK_ACCEPT, &sub) ==
            __WASI_ERRNO_NOTCAPABLE,
        "rights beyond the inheriting set");
  CHECK(__wasi_fd_close(bare) == 0, "close bare");
  CHECK(__wasi_fd_close(wfd) == 0, "close wfd");
  static const char nul_path[] = "d/b.txt\0../../x";
  CHECK(raw_path_open(SANDBOX, 0, (int32_t)(uintptr_t)nul_path, sizeof nul_path - 1, 0, 2, 0, 0,
                      (int32_t)(uintptr_t)&wfd) == __WASI_ERRNO_INVAL,
        "NUL in path");
  CHECK(unlink("/sandbox/d/b.txt") == 0 && rmdir("/sandbox/d") == 0, "cleanup");
  // What the host should find afterwards.
  f = fopen("/sandbox/result.txt", "w");
  fputs("written by the guest", f);
  fclose(f);
}

static void mode_ro(void) {
  char* text = slurp("/ro/data.txt");
  CHECK(text && strcmp(text, "read only\n") == 0, "read '%s'", text ? text : "(null)");
  CHECK(fopen("/ro/data.txt", "w") == NULL && errno == EROFS, "fopen w errno=%d", errno);
  CHECK(fopen("/ro/data.txt", "a") == NULL && errno == EROFS, "fopen a errno=%d", errno);
  CHECK(fopen("/ro/new.txt", "w") == NULL && errno == EROFS, "create errno=%d", errno);
  CHECK(open("/ro/new.txt", O_RDONLY | O_CREAT, 0644) == -1 && errno == EROFS, "creat rdonly");
  CHECK(open("/ro/data.txt", O_RDONLY | O_TRUNC) == -1 && errno == EROFS, "trunc errno=%d", errno);
  CHECK(mkdir("/ro/d", 0755) == -1 && errno == EROFS, "mkdir errno=%d", errno);
  CHECK(unlink("/ro/data.txt") == -1 && errno == EROFS, "unlink errno=%d", errno);
  CHECK(rmdir("/ro/sub") == -1 && errno == EROFS, "rmdir errno=%d", errno);
  CHECK(rename("/ro/data.txt", "/ro/x.txt") == -1 && errno == EROFS, "rename errno=%d", errno);
  CHECK(rename("/ro/data.txt", "/sandbox/x.txt") == -1 && errno == EROFS, "rename out errno=%d",
        errno);
  CHECK(symlink("data.txt", "/ro/l") == -1 && errno == EROFS, "symlink errno=%d", errno);
  CHECK(link("/ro/data.txt", "/sandbox/l") == -1 && errno == EROFS, "link out errno=%d", errno);
  struct timeval tv[2] = {{100, 0}, {200, 0}};
  CHECK(utimes("/ro/data.txt", tv) == -1 && errno == EROFS, "utimes errno=%d", errno);
  int fd = open("/ro/data.txt", O_RDONLY);
  CHECK(fd >= 0, "open rdonly");
  CHECK(write(fd, "x", 1) == -1, "write to a read-only fd");
  CHECK(ftruncate(fd, 0) == -1 &&
            (errno == EROFS || errno == ENOTCAPABLE || errno == EBADF || errno == EINVAL),
        "ftruncate errno=%d", errno);
  CHECK(__wasi_fd_filestat_set_times(fd, 0, 0, __WASI_FSTFLAGS_MTIM_NOW) != 0, "futimes");
  close(fd);
  // A directory opened beneath a read-only preopen is read-only too.
  __wasi_fd_t sub;
  CHECK(open_at(RO, "sub", 0, __WASI_OFLAGS_DIRECTORY, kDir, &sub) == 0, "open subdir");
  CHECK(__wasi_path_create_directory(sub, "x") == __WASI_ERRNO_ROFS, "mkdir in subdir");
  __wasi_fd_t wfd;
  CHECK(open_at(sub, "y", 0, __WASI_OFLAGS_CREAT, kRead | kWrite, &wfd) == __WASI_ERRNO_ROFS,
        "creat");
  // Reading works.
  DIR* d = opendir("/ro");
  int n = 0;
  struct dirent* de;
  while (d && (de = readdir(d))) n++;
  if (d) closedir(d);
  CHECK(n == 4, "entries=%d", n);  // . .. data.txt sub
}

static void mode_escape(void) {
  __wasi_fd_t fd;
  // ".." chains and absolute paths.
  CHECK(open_at(SANDBOX, "..", 1, 0, kRead, &fd) == __WASI_ERRNO_NOTCAPABLE, "..");
  CHECK(open_at(SANDBOX, "../outside/secret.txt", 1, 0, kRead, &fd) == __WASI_ERRNO_NOTCAPABLE,
        "../");
  CHECK(
      open_at(SANDBOX, "sub/../../outside/secret.txt", 1, 0, kRead, &fd) == __WASI_ERRNO_NOTCAPABLE,
      "sub/../..");
  CHECK(open_at(SANDBOX, "sub/../sub/../../outside", 1, 0, kRead, &fd) == __WASI_ERRNO_NOTCAPABLE,
        "zigzag");
  CHECK(open_at(SANDBOX, "/etc/passwd", 1, 0, kRead, &fd) == __WASI_ERRNO_NOTCAPABLE, "absolute");
  CHECK(open_at(SANDBOX, "/", 1, 0, kRead, &fd) == __WASI_ERRNO_NOTCAPABLE, "root");
  CHECK(open_at(SANDBOX, "sub/..", 1, 0, kRead, &fd) == 0 && __wasi_fd_close(fd) == 0,
        "sub/.. stays inside");
  CHECK(fopen("/sandbox/../outside/secret.txt", "r") == NULL, "libc ..");
  CHECK(fopen("/etc/passwd", "r") == NULL, "libc absolute");
  CHECK(fopen("/sandbox/sub/../../outside/secret.txt", "r") == NULL, "libc sub/../..");

  // Symlinks made by the host: relative out, absolute out, and one inside.
  CHECK(open_at(SANDBOX, "link_out", 1, 0, kRead, &fd) == __WASI_ERRNO_NOTCAPABLE, "link_out");
  CHECK(open_at(SANDBOX, "link_out", 0, 0, kRead, &fd) == __WASI_ERRNO_LOOP, "link_out nofollow");
  CHECK(open_at(SANDBOX, "link_abs", 1, 0, kRead, &fd) == __WASI_ERRNO_NOTCAPABLE, "link_abs");
  CHECK(open_at(SANDBOX, "link_dir_out/secret.txt", 1, 0, kRead, &fd) == __WASI_ERRNO_NOTCAPABLE,
        "through a dir link");
  CHECK(open_at(SANDBOX, "link_in", 1, 0, kRead, &fd) == 0 && __wasi_fd_close(fd) == 0, "link_in");
  CHECK(fopen("/sandbox/link_out", "r") == NULL, "libc link_out");
  __wasi_filestat_t st;
  CHECK(__wasi_path_filestat_get(SANDBOX, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "link_out", &st) ==
            __WASI_ERRNO_NOTCAPABLE,
        "stat through link_out");
  CHECK(__wasi_path_filestat_get(SANDBOX, 0, "link_out", &st) == 0 &&
            st.filetype == __WASI_FILETYPE_SYMBOLIC_LINK,
        "lstat link_out");
  CHECK(
      __wasi_path_filestat_get(SANDBOX, 0, "../outside/secret.txt", &st) == __WASI_ERRNO_NOTCAPABLE,
      "stat ..");
  CHECK(__wasi_path_filestat_set_times(SANDBOX, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "link_out", 0, 0,
                                       __WASI_FSTFLAGS_MTIM_NOW) == __WASI_ERRNO_NOTCAPABLE,
        "set_times through link_out");
  CHECK(__wasi_path_filestat_set_times(SANDBOX, 0, "../outside/secret.txt", 0, 0,
                                       __WASI_FSTFLAGS_MTIM_NOW) == __WASI_ERRNO_NOTCAPABLE,
        "set_times ..");
  CHECK(__wasi_path_create_directory(SANDBOX, "link_dir_out/newdir") == __WASI_ERRNO_NOTCAPABLE,
        "mkdir through a dir link");

  // Symlinks made by the guest.
  CHECK(__wasi_path_symlink("../outside/secret.txt", SANDBOX, "g_out") == 0, "create g_out");
  CHECK(open_at(SANDBOX, "g_out", 1, 0, kRead, &fd) == __WASI_ERRNO_NOTCAPABLE, "follow g_out");
  CHECK(__wasi_path_symlink("..", SANDBOX, "g_up") == 0, "create g_up");
  CHECK(open_at(SANDBOX, "g_up/outside/secret.txt", 1, 0, kRead, &fd) == __WASI_ERRNO_NOTCAPABLE,
        "through g_up");
  CHECK(open_at(SANDBOX, "g_up/sandbox/link_in", 1, 0, kRead, &fd) == __WASI_ERRNO_NOTCAPABLE,
        "out and back in");
  CHECK(__wasi_path_create_directory(SANDBOX, "g_up/newdir") == __WASI_ERRNO_NOTCAPABLE,
        "mkdir g_up");
  CHECK(__wasi_path_symlink("/etc/passwd", SANDBOX, "g_abs") == __WASI_ERRNO_NOTCAPABLE,
        "absolute target");
  CHECK(__wasi_path_symlink("x", SANDBOX, "../outside/g_link") == __WASI_ERRNO_NOTCAPABLE,
        "symlink placed outside");
  CHECK(fopen("/sandbox/g_up/outside/secret.txt", "r") == NULL, "libc g_up");
  // Creating through a dangling link that points out.
  CHECK(__wasi_path_symlink("../outside/created.txt", SANDBOX, "g_dangling") == 0, "g_dangling");
  CHECK(open_at(SANDBOX, "g_dangling", 1, __WASI_OFLAGS_CREAT, kRead | kWrite, &fd) ==
            __WASI_ERRNO_NOTCAPABLE,
        "create through g_dangling");
  CHECK(open_at(SANDBOX, "g_dangling", 0, __WASI_OFLAGS_CREAT, kRead | kWrite, &fd) ==
            __WASI_ERRNO_LOOP,
        "create through g_dangling, nofollow");
  CHECK(fopen("/sandbox/g_dangling", "w") == NULL, "libc create through g_dangling");

  // Rename, link, unlink, mkdir, rmdir towards the outside.
  CHECK(__wasi_path_rename(SANDBOX, "inside.txt", SANDBOX, "../stolen.txt") ==
            __WASI_ERRNO_NOTCAPABLE,
        "rename out");
  CHECK(__wasi_path_rename(SANDBOX, "../outside/secret.txt", SANDBOX, "got.txt") ==
            __WASI_ERRNO_NOTCAPABLE,
        "rename in");
  CHECK(__wasi_path_rename(SANDBOX, "inside.txt", SANDBOX, "g_up/stolen.txt") ==
            __WASI_ERRNO_NOTCAPABLE,
        "rename through g_up");
  CHECK(__wasi_path_rename(SANDBOX, "..", SANDBOX, "x") != 0, "rename ..");
  CHECK(__wasi_path_link(SANDBOX, 0, "inside.txt", SANDBOX, "../linked.txt") ==
            __WASI_ERRNO_NOTCAPABLE,
        "link out");
  CHECK(__wasi_path_link(SANDBOX, 0, "../outside/secret.txt", SANDBOX, "got.txt") ==
            __WASI_ERRNO_NOTCAPABLE,
        "link in");
  CHECK(__wasi_path_unlink_file(SANDBOX, "../outside/secret.txt") == __WASI_ERRNO_NOTCAPABLE,
        "unlink out");
  CHECK(__wasi_path_unlink_file(SANDBOX, "g_up/outside/secret.txt") == __WASI_ERRNO_NOTCAPABLE,
        "unlink through g_up");
  CHECK(__wasi_path_create_directory(SANDBOX, "../newdir") == __WASI_ERRNO_NOTCAPABLE, "mkdir out");
  CHECK(__wasi_path_remove_directory(SANDBOX, "../outside") == __WASI_ERRNO_NOTCAPABLE,
        "rmdir out");
  CHECK(__wasi_path_remove_directory(SANDBOX, "..") != 0, "rmdir ..");
  CHECK(__wasi_path_remove_directory(SANDBOX, ".") != 0, "rmdir .");
  char buf[64];
  __wasi_size_t used;
  CHECK(__wasi_path_readlink(SANDBOX, "../outside/link", (uint8_t*)buf, sizeof buf, &used) ==
            __WASI_ERRNO_NOTCAPABLE,
        "readlink out");
  CHECK(__wasi_path_readlink(SANDBOX, "..", (uint8_t*)buf, sizeof buf, &used) != 0, "readlink ..");
  // Links to the symlinks themselves are harmless: following them is still confined.
  CHECK(__wasi_path_link(SANDBOX, 0, "g_out", SANDBOX, "g_out_hard") == 0, "hard link a symlink");
  CHECK(open_at(SANDBOX, "g_out_hard", 1, 0, kRead, &fd) == __WASI_ERRNO_NOTCAPABLE, "follow it");
  // A directory fd is a root of its own: ".." out of it is refused even inside the preopen.
  __wasi_fd_t subfd;
  CHECK(open_at(SANDBOX, "sub", 0, __WASI_OFLAGS_DIRECTORY, kDir, &subfd) == 0, "open sub");
  CHECK(open_at(subfd, ".", 1, 0, kRead, &fd) == 0 && __wasi_fd_close(fd) == 0, "sub fd .");
  CHECK(open_at(subfd, "../inside.txt", 1, 0, kRead, &fd) == __WASI_ERRNO_NOTCAPABLE, "sub fd ..");
  // Descriptors that are not directories cannot be used as a base.
  CHECK(open_at(1, "x", 1, 0, kRead, &fd) == __WASI_ERRNO_NOTDIR, "stdout as base");
  CHECK(open_at(99, "x", 1, 0, kRead, &fd) == __WASI_ERRNO_BADF, "bad base");
}

// fd_readdir: cookies, d_next, truncated entries, libc readdir.
static void mode_readdir(void) {
  // The host made 40 files named file_NN_<padding>.
  __wasi_fd_t dir;
  CHECK(open_at(SANDBOX, "many", 0, __WASI_OFLAGS_DIRECTORY, kRead, &dir) == 0, "open many");
  static char seen[64];
  int count = 0, dots = 0, calls = 0, bad = 0;
  __wasi_dircookie_t cookie = 0;
  uint8_t buf[128];
  for (;;) {
    __wasi_size_t used = 0;
    if (__wasi_fd_readdir(dir, buf, sizeof buf, cookie, &used) != 0) {
      bad++;
      break;
    }
    calls++;
    size_t off = 0;
    int progressed = 0;
    while (off + sizeof(__wasi_dirent_t) <= used) {
      __wasi_dirent_t de;
      memcpy(&de, buf + off, sizeof de);
      if (off + sizeof de + de.d_namlen > used) break;  // cut short: ask again from its cookie
      char name[64] = {0};
      memcpy(name, buf + off + sizeof de, de.d_namlen < 63 ? de.d_namlen : 63);
      if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        dots++;
        if (de.d_type != __WASI_FILETYPE_DIRECTORY) bad++;
      } else {
        int idx = -1;
        if (sscanf(name, "file_%d_", &idx) == 1 && idx >= 0 && idx < 64) {
          seen[idx]++;
          if (de.d_type != __WASI_FILETYPE_REGULAR_FILE || de.d_ino == 0) bad++;
        } else {
          bad++;
        }
      }
      count++;
      cookie = de.d_next;
      progressed = 1;
      off += sizeof de + de.d_namlen;
    }
    if (used < sizeof buf) break;  // end of directory
    if (!progressed) {
      bad++;
      break;
    }
    if (calls > 1000) {
      bad++;
      break;
    }
  }
  int missing = 0;
  for (int i = 0; i < 40; ++i) missing += seen[i] != 1;
  CHECK(count == 42 && dots == 2 && missing == 0 && bad == 0, "count=%d dots=%d missing=%d bad=%d",
        count, dots, missing, bad);
  CHECK(calls > 10, "calls=%d", calls);

  // A cookie from the middle restarts there; a cookie past the end gives nothing.
  __wasi_size_t used = 0;
  static uint8_t big[16384];
  CHECK(__wasi_fd_readdir(dir, big, sizeof big, 0, &used) == 0 && used < sizeof big, "all at once");
  __wasi_dirent_t first;
  memcpy(&first, big, sizeof first);
  size_t second_off = sizeof first + first.d_namlen;
  __wasi_dirent_t second;
  memcpy(&second, big + second_off, sizeof second);
  __wasi_size_t used2 = 0;
  static uint8_t again[16384];
  CHECK(__wasi_fd_readdir(dir, again, sizeof again, first.d_next, &used2) == 0 &&
            used2 == used - second_off && memcmp(again, big + second_off, used2) == 0,
        "resume at d_next used=%u used2=%u", (unsigned)used, (unsigned)used2);
  CHECK(__wasi_fd_readdir(dir, again, sizeof again, 1000, &used2) == 0 && used2 == 0,
        "past the end");
  // A buffer smaller than one header is filled completely.
  CHECK(__wasi_fd_readdir(dir, again, 10, 0, &used2) == 0 && used2 == 10, "tiny buffer used=%u",
        (unsigned)used2);
  CHECK(__wasi_fd_readdir(1, again, 10, 0, &used2) == __WASI_ERRNO_NOTDIR, "readdir on stdout");
  __wasi_fd_t file;
  CHECK(open_at(SANDBOX, "many/file_00_", 0, 0, kRead, &file) == 0 && __wasi_fd_close(file) == 0,
        "a listed name opens");
  CHECK(open_at(SANDBOX, "many/file_00", 0, 0, kRead, &file) == __WASI_ERRNO_NOENT,
        "an unlisted name does not");

  // libc: opendir/readdir/rewinddir/seekdir/telldir.
  DIR* d = opendir("/sandbox/many");
  CHECK(d != NULL, "opendir");
  int n = 0;
  long mid = -1;
  char mid_name[64] = {0};
  struct dirent* de;
  while ((de = readdir(d))) {
    if (++n == 20) {
      mid = telldir(d);
    } else if (n == 21) {
      strcpy(mid_name, de->d_name);
    }
  }
  CHECK(n == 42, "libc entries=%d", n);
  seekdir(d, mid);
  de = readdir(d);
  CHECK(de && strcmp(de->d_name, mid_name) == 0, "seekdir '%s' vs '%s'", de ? de->d_name : "",
        mid_name);
  rewinddir(d);
  n = 0;
  while (readdir(d)) n++;
  CHECK(n == 42, "after rewind=%d", n);
  closedir(d);
  // The preopen itself can be listed (and twice, from two contexts or fds).
  d = opendir("/sandbox");
  n = 0;
  while (d && readdir(d)) n++;
  if (d) closedir(d);
  CHECK(n >= 3, "sandbox entries=%d", n);
}

// Edge cases the official WASI testsuite checks (WebAssembly/wasi-testsuite):
// directories are not seekable, `.` reopens a preopen with its own rights,
// a hard link's new name cannot end in a slash.
static void mode_edges(void) {
  __wasi_fd_t dir;
  CHECK(open_at(SANDBOX, "sub", 0, __WASI_OFLAGS_DIRECTORY,
                __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL | __WASI_RIGHTS_FD_READDIR, &dir) == 0,
        "open sub");
  __wasi_filesize_t pos = 77;
  CHECK(__wasi_fd_tell(dir, &pos) == __WASI_ERRNO_BADF && pos == 77, "tell on a directory");
  CHECK(__wasi_fd_seek(dir, 0, __WASI_WHENCE_CUR, &pos) == __WASI_ERRNO_BADF, "seek cur");
  CHECK(__wasi_fd_seek(dir, 0, __WASI_WHENCE_SET, &pos) == __WASI_ERRNO_BADF, "seek set");
  CHECK(__wasi_fd_seek(dir, 0, __WASI_WHENCE_END, &pos) == __WASI_ERRNO_BADF, "seek end");
  __wasi_fdstat_t st;
  CHECK(__wasi_fd_fdstat_get(dir, &st) == 0 &&
            (st.fs_rights_base & (__WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL)) == 0,
        "a directory has no seek/tell rights: %llx", (unsigned long long)st.fs_rights_base);
  CHECK(__wasi_fd_close(dir) == 0, "close sub");
  CHECK(__wasi_fd_tell(SANDBOX, &pos) == __WASI_ERRNO_BADF, "tell on a preopen");
  CHECK(__wasi_fd_fdstat_get(SANDBOX, &st) == 0 &&
            (st.fs_rights_base & (__WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL)) == 0,
        "a preopen has no seek/tell rights: %llx", (unsigned long long)st.fs_rights_base);

  // Reopening the preopen as `.` with its own rights (and no O_DIRECTORY).
  __wasi_fd_t self;
  CHECK(__wasi_path_open(SANDBOX, 0, ".", 0, st.fs_rights_base, st.fs_rights_inheriting, 0,
                         &self) == 0,
        "open . with the preopen's rights");
  __wasi_fdstat_t self_st;
  CHECK(__wasi_fd_fdstat_get(self, &self_st) == 0 &&
            self_st.fs_filetype == __WASI_FILETYPE_DIRECTORY,
        "`.` is a directory");
  CHECK(__wasi_fd_close(self) == 0, "close .");
  CHECK(__wasi_path_open(SANDBOX, 0, ".", 0, 0, 0, 0, &self) == 0 && __wasi_fd_close(self) == 0,
        "open . with no rights");
  CHECK(__wasi_path_open(SANDBOX, 0, ".", __WASI_OFLAGS_DIRECTORY,
                         __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE, 0, 0,
                         &self) == __WASI_ERRNO_ISDIR,
        "a directory opened for writing is EISDIR");
  // Without O_DIRECTORY a write right still cannot open a directory.
  CHECK(__wasi_path_open(SANDBOX, 0, "sub", 0, __WASI_RIGHTS_FD_WRITE, 0, 0, &self) ==
            __WASI_ERRNO_ISDIR,
        "a directory opened with the write right is EISDIR");
  CHECK(__wasi_path_open(SANDBOX, 0, "sub", __WASI_OFLAGS_TRUNC, __WASI_RIGHTS_FD_READ, 0, 0,
                         &self) == __WASI_ERRNO_ISDIR,
        "truncating a directory is EISDIR");

  // path_link: a new name ending in a slash fails and creates nothing.
  CHECK(__wasi_path_link(SANDBOX, 0, "inside.txt", SANDBOX, "hard/") == __WASI_ERRNO_NOENT,
        "link to `hard/`");
  CHECK(__wasi_path_open(SANDBOX, 0, "hard", 0, kRead, 0, 0, &self) == __WASI_ERRNO_NOENT,
        "no `hard` left behind");
  CHECK(__wasi_path_link(SANDBOX, 0, "inside.txt/", SANDBOX, "hard") == __WASI_ERRNO_NOTDIR,
        "link from `inside.txt/`");
  CHECK(__wasi_path_link(SANDBOX, 0, "inside.txt", SANDBOX, "sub/") == __WASI_ERRNO_EXIST,
        "link onto an existing directory");
  CHECK(__wasi_path_link(SANDBOX, 0, "inside.txt", SANDBOX, "hard") == 0, "a plain link works");
}

// Opens files and never closes them: the host checks its descriptors afterwards.
static void mode_leak(void) {
  int opened = 0;
  for (int i = 0; i < 20; ++i) {
    char path[64];
    snprintf(path, sizeof path, "/sandbox/leak_%d", i);
    if (open(path, O_WRONLY | O_CREAT, 0644) >= 0) opened++;
  }
  if (opendir("/sandbox")) opened++;
  CHECK(opened == 21, "opened=%d", opened);
}

// Many descriptors: the table grows past its inline part and stops at max_fds.
static void mode_many(void) {
  int last = -1, n = 0;
  for (int i = 0; i < 200; ++i) {
    int fd = open("/sandbox/many_fds", O_RDONLY | O_CREAT, 0644);
    if (fd < 0) {
      CHECK(errno == EMFILE, "errno=%d after %d opens", errno, n);
      break;
    }
    last = fd;
    n++;
  }
  CHECK(n == 64 - 5, "opened=%d last=%d", n, last);  // max_fds 64: 0-2 stdio, 3-4 preopens
  CHECK(close(last) == 0, "close last");
  CHECK(open("/sandbox/many_fds", O_RDONLY) == last, "lowest free number reused");
  CHECK(close(20) == 0 && open("/sandbox/many_fds", O_RDONLY) == 20, "reuse 20");
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "rw") == 0) {
    mode_rw();
  } else if (strcmp(mode, "ro") == 0) {
    mode_ro();
  } else if (strcmp(mode, "escape") == 0) {
    mode_escape();
  } else if (strcmp(mode, "readdir") == 0) {
    mode_readdir();
  } else if (strcmp(mode, "leak") == 0) {
    mode_leak();
  } else if (strcmp(mode, "many") == 0) {
    mode_many();
  } else if (strcmp(mode, "edges") == 0) {
    mode_edges();
  } else {
    printf("FAIL unknown mode %s\n", mode);
    return 100;
  }
  return failures;
}
