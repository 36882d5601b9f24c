// Token file and constant-time bearer check (token.h).
#include "control/token.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/files.h"
#include "common/hash.h"
#include "http/message.h"

namespace wink::control {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

Result<void> write_private_file(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return make_error("cannot create " + tmp.string() + ": " + std::strerror(errno));
  ::fchmod(fd, 0600);  // O_TRUNC of an older leftover keeps its mode
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return make_error("cannot write " + path.string() + ": " + std::strerror(errno));
  }
  return {};
}

}  // namespace

Result<std::string> read_token(const std::filesystem::path& path) {
  WINK_ASSIGN_OR_RETURN(std::string text, read_text_file(path));
  std::string token = trim(std::move(text));
  if (token.empty()) return make_error("token file " + path.string() + " is empty");
  return token;
}

Result<std::string> load_or_create_token(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return make_error("token file " + path.string() + ": " + std::strerror(errno));
    if (path.has_parent_path() && !std::filesystem::exists(path.parent_path())) {
      std::error_code ec;
      std::filesystem::create_directories(path.parent_path(), ec);
      if (ec) return make_error("cannot create " + path.parent_path().string() + ": " + ec.message());
      ::chmod(path.parent_path().c_str(), 0700);
    }
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1) return make_error("no randomness for a token");
    std::string token;
    for (unsigned char b : raw) {
      char hex[3];
      std::snprintf(hex, sizeof hex, "%02x", b);
      token += hex;
    }
    WINK_TRY(write_private_file(path, token + "\n"));
    return token;
  }
  if (!S_ISREG(st.st_mode)) return make_error("token file " + path.string() + " is not a regular file");
  if (st.st_mode & 077) {
    return make_error("token file " + path.string() + " may be read or written by other users (mode " +
                      std::to_string((st.st_mode >> 6) & 7) + std::to_string((st.st_mode >> 3) & 7) +
                      std::to_string(st.st_mode & 7) + "): chmod 600 it");
  }
  WINK_ASSIGN_OR_RETURN(std::string token, read_token(path));
  if (token.size() < 32) return make_error("token in " + path.string() + " is shorter than 32 characters");
  return token;
}

bool bearer_matches(std::string_view authorization, std::string_view token) {
  constexpr std::string_view kScheme = "Bearer ";
  if (token.empty() || authorization.size() < kScheme.size() ||
      !http::iequals(authorization.substr(0, kScheme.size()), kScheme)) {
    return false;
  }
  std::string_view given = authorization.substr(kScheme.size());
  while (!given.empty() && given.front() == ' ') given.remove_prefix(1);
  // Equal-length digests, compared in constant time: neither the content nor
  // the length of the token leaks through timing.
  std::string a = Sha256().update(given).hex(), b = Sha256().update(token).hex();
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace wink::control
