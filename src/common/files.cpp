#include "common/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <random>

namespace wink {
namespace {

Error errno_error(const std::string& what, const std::filesystem::path& path) {
  return make_error(what + " " + path.string() + ": " + std::strerror(errno));
}

std::string temp_suffix() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[32];
  std::snprintf(buf, sizeof buf, ".tmp.%d.%016llx", static_cast<int>(getpid()),
                static_cast<unsigned long long>(rng()));
  return buf;
}

}  // namespace

Result<std::vector<uint8_t>> read_file(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("cannot open", path);
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      Error e = errno_error("cannot read", path);
      ::close(fd);
      return e;
    }
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
  }
  ::close(fd);
  return out;
}

Result<std::string> read_text_file(const std::filesystem::path& path) {
  WINK_ASSIGN_OR_RETURN(auto bytes, read_file(path));
  return std::string(bytes.begin(), bytes.end());
}

Result<void> sync_path(const std::filesystem::path& path) {
  // O_RDONLY works for directories too; fsync of a directory makes its
  // entries (creations, renames) durable.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("cannot open", path);
  if (::fsync(fd) != 0) {
    Error e = errno_error("cannot flush", path);
    ::close(fd);
    return e;
  }
  ::close(fd);
  return {};
}

Result<void> sync_tree(const std::filesystem::path& root) {
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec); !ec && it != std::filesystem::end(it);
       it.increment(ec)) {
    const auto type = it->symlink_status(ec).type();
    if (ec) break;
    if (type == std::filesystem::file_type::regular || type == std::filesystem::file_type::directory)
      WINK_TRY(sync_path(it->path()));
  }
  if (ec) return make_error("cannot list " + root.string() + ": " + ec.message());
  return sync_path(root);
}

Result<void> publish_file(const std::filesystem::path& from, const std::filesystem::path& to) {
  WINK_TRY(sync_path(from));
  if (::rename(from.c_str(), to.c_str()) != 0) return errno_error("cannot rename to", to);
  return sync_path(to.parent_path().empty() ? std::filesystem::path(".") : to.parent_path());
}

Result<void> write_file_atomic(const std::filesystem::path& path, std::span<const uint8_t> data) {
  std::filesystem::path tmp = path;
  tmp += temp_suffix();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return errno_error("cannot create", tmp);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      Error e = errno_error("cannot write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return e;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    Error e = errno_error("cannot flush", tmp);
    ::unlink(tmp.c_str());
    return e;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = errno_error("cannot rename to", path);
    ::unlink(tmp.c_str());
    return e;
  }
  // The rename itself is durable once the directory is.
  return sync_path(path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path());
}

Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view data) {
  return write_file_atomic(
      path, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

std::filesystem::path default_data_dir() {
  if (const char* d = std::getenv("WINK_DATA_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return std::filesystem::path(x) / "wink";
  if (const char* h = std::getenv("HOME"); h && *h)
    return std::filesystem::path(h) / ".local" / "share" / "wink";
  return std::filesystem::temp_directory_path() / "wink";
}

}  // namespace wink
