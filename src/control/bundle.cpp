// Bundle encoding, hostile-input-safe decoding and packing of an app directory.
#include "control/bundle.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "common/files.h"
#include "manifest/manifest.h"

namespace wink::control {
namespace {

constexpr std::string_view kMagic = "WINKBNDL";
constexpr uint32_t kVersion = 1;
constexpr uint8_t kTypeFile = 0, kTypeExecutable = 1, kTypeSymlink = 2;

// Reads fixed-size little-endian integers off the front of `in`.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  size_t offset() const { return pos_; }
  size_t left() const { return in_.size() - pos_; }
  template <typename T>
  bool read(T& out) {
    if (left() < sizeof(T)) return false;
    T v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i);
    out = v;
    pos_ += sizeof(T);
    return true;
  }
  bool take(uint64_t n, std::string_view& out) {
    if (left() < n) return false;
    out = in_.substr(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return true;
  }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

template <typename T>
void put(std::string& out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff));
}

std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 200)) {
    if (c < 0x20 || c == 0x7f) {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      out += b;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > 200) out += "...";
  return out;
}

}  // namespace

Result<void> check_bundle_path(std::string_view path, const BundleLimits& limits) {
  if (path.empty()) return make_error("empty path");
  if (path.size() > limits.max_path_bytes) {
    return make_error("path longer than " + std::to_string(limits.max_path_bytes) + " bytes");
  }
  if (path.front() == '/') return make_error("absolute path");
  for (unsigned char c : path) {
    if (c < 0x20 || c == 0x7f) return make_error("control character in path");
    if (c == '\\') return make_error("backslash in path (use '/')");
  }
  uint32_t depth = 0;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    std::string_view part = path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part.empty()) return make_error("empty path component");
    if (part == "..") return make_error("\"..\" in path");
    if (part == ".") return make_error("\".\" in path");
    if (++depth > limits.max_depth) return make_error("more than " + std::to_string(limits.max_depth) + " levels deep");
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return {};
}

Result<node::Bundle> read_bundle(std::string_view bytes, const BundleLimits& limits) {
  Reader r(bytes);
  std::string_view magic;
  if (!r.take(kMagic.size(), magic) || magic != kMagic) return make_error("bundle: not a wink bundle (bad magic)");
  uint32_t version = 0, count = 0;
  if (!r.read(version)) return make_error("bundle: truncated header");
  if (version != kVersion) {
    return make_error("bundle: version " + std::to_string(version) + " is not supported (this wink reads version " +
                      std::to_string(kVersion) + ")");
  }
  if (!r.read(count)) return make_error("bundle: truncated header");
  if (count > limits.max_files) {
    return make_error("bundle: " + std::to_string(count) + " files, more than the limit of " +
                      std::to_string(limits.max_files));
  }
  node::Bundle bundle;
  std::set<std::string, std::less<>> paths;
  uint64_t total = 0;
  bool has_manifest = false;
  for (uint32_t i = 0; i < count; ++i) {
    const std::string where = "bundle: file " + std::to_string(i + 1) + " (at byte " + std::to_string(r.offset()) + ")";
    uint8_t type = 0;
    uint16_t path_len = 0;
    std::string_view path, data;
    if (!r.read(type) || !r.read(path_len) || !r.take(path_len, path)) return make_error(where + ": truncated");
    if (type == kTypeSymlink) return make_error(where + " \"" + printable(path) + "\": symlinks are not allowed");
    if (type != kTypeFile && type != kTypeExecutable) {
      return make_error(where + " \"" + printable(path) + "\": unknown entry type " + std::to_string(type));
    }
    if (auto ok = check_bundle_path(path, limits); !ok.ok()) {
      return make_error(where + " \"" + printable(path) + "\": " + ok.error().message);
    }
    uint64_t size = 0;
    if (!r.read(size)) return make_error(where + " \"" + std::string(path) + "\": truncated");
    if (size > limits.max_file_bytes) {
      return make_error(where + " \"" + std::string(path) + "\": " + std::to_string(size) +
                        " bytes, more than the limit of " + std::to_string(limits.max_file_bytes));
    }
    if (size > limits.max_total_bytes - total) {
      return make_error("bundle: files add up to more than the limit of " + std::to_string(limits.max_total_bytes) +
                        " bytes (at \"" + std::string(path) + "\")");
    }
    total += size;
    if (!r.take(size, data)) {
      return make_error(where + " \"" + std::string(path) + "\": truncated (" + std::to_string(size) + " bytes announced, " +
                        std::to_string(r.left()) + " left)");
    }
    // A duplicate, or a file where another one needs a directory ("a" and "a/b").
    if (paths.count(path)) return make_error(where + ": \"" + std::string(path) + "\" appears twice");
    for (size_t slash = path.find('/'); slash != std::string_view::npos; slash = path.find('/', slash + 1)) {
      if (paths.count(path.substr(0, slash))) {
        return make_error(where + ": \"" + std::string(path) + "\" is below the file \"" +
                          std::string(path.substr(0, slash)) + "\"");
      }
    }
    auto above = paths.lower_bound(std::string(path) + "/");
    if (above != paths.end() && above->compare(0, path.size() + 1, std::string(path) + "/") == 0) {
      return make_error(where + ": \"" + std::string(path) + "\" is a file but \"" + *above + "\" needs it as a directory");
    }
    paths.emplace(path);
    if (path == "wink.toml") has_manifest = true;
    bundle.files.push_back({std::string(path), std::string(data), type == kTypeExecutable});
  }
  if (r.left() != 0) return make_error("bundle: " + std::to_string(r.left()) + " unexpected bytes after the last file");
  if (!has_manifest) return make_error("bundle: no wink.toml at its root");
  return bundle;
}

std::string write_bundle(const node::Bundle& bundle) {
  std::string out(kMagic);
  put<uint32_t>(out, kVersion);
  put<uint32_t>(out, static_cast<uint32_t>(bundle.files.size()));
  for (const node::BundleFile& f : bundle.files) {
    put<uint8_t>(out, f.executable ? kTypeExecutable : kTypeFile);
    put<uint16_t>(out, static_cast<uint16_t>(f.path.size()));
    out += f.path;
    put<uint64_t>(out, f.bytes.size());
    out += f.bytes;
  }
  return out;
}

Result<node::Bundle> pack_app(const std::filesystem::path& app, const BundleLimits& limits) {
  namespace fs = std::filesystem;
  WINK_ASSIGN_OR_RETURN(manifest::Manifest m, manifest::load(app));
  const fs::path root = fs::weakly_canonical(m.dir);
  node::Bundle bundle;
  std::set<std::string> seen;
  uint64_t total = 0;

  // Adds one regular file under `root` as its relative path.
  auto add = [&](const fs::path& file, const std::string& as, const std::string& what) -> Result<void> {
    struct stat st {};
    if (::lstat(file.c_str(), &st) != 0) return make_error(what + " " + file.string() + ": cannot read it");
    if (S_ISLNK(st.st_mode)) {
      return make_error(what + " " + file.string() + " is a symlink: bundles hold regular files only (copy the target in)");
    }
    if (!S_ISREG(st.st_mode)) return make_error(what + " " + file.string() + " is not a regular file");
    std::string rel = as;
    if (rel.empty()) {
      fs::path r = fs::weakly_canonical(file).lexically_relative(root);
      rel = r.generic_string();
      if (r.empty() || rel == ".." || rel.rfind("../", 0) == 0) {
        return make_error(what + " " + file.string() + " is outside the app directory " + root.string() +
                          ": a bundle holds only files below it");
      }
    }
    if (!seen.insert(rel).second) return {};
    if (auto ok = check_bundle_path(rel, limits); !ok.ok()) return make_error(what + " \"" + rel + "\": " + ok.error().message);
    if (static_cast<uint64_t>(st.st_size) > limits.max_file_bytes || total + st.st_size > limits.max_total_bytes) {
      return make_error(what + " " + file.string() + ": the bundle would exceed " + std::to_string(limits.max_total_bytes) +
                        " bytes");
    }
    if (bundle.files.size() >= limits.max_files) {
      return make_error("more than " + std::to_string(limits.max_files) + " files to bundle");
    }
    WINK_ASSIGN_OR_RETURN(std::string bytes, read_text_file(file));
    total += bytes.size();
    bundle.files.push_back({rel, std::move(bytes), (st.st_mode & S_IXUSR) != 0});
    return {};
  };

  WINK_TRY(add(m.file, "wink.toml", "manifest"));
  for (const manifest::Component& c : m.components) {
    WINK_TRY(add(c.source, "", "component \"" + c.id + "\" module"));
    for (const manifest::FileMount& mount : c.files) {
      std::error_code ec;
      struct stat st {};
      if (::lstat(mount.host_dir.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
        return make_error("component \"" + c.id + "\" files: " + mount.host_dir.string() + " is a symlink");
      }
      std::vector<fs::path> files;
      for (fs::recursive_directory_iterator it(mount.host_dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->is_symlink()) {
          return make_error("component \"" + c.id + "\" files: " + it->path().string() +
                            " is a symlink: bundles hold regular files only");
        }
        if (it->is_regular_file()) files.push_back(it->path());
      }
      if (ec) return make_error("component \"" + c.id + "\" files: " + mount.host_dir.string() + ": " + ec.message());
      std::sort(files.begin(), files.end());  // same content, same bundle bytes
      for (const fs::path& f : files) WINK_TRY(add(f, "", "component \"" + c.id + "\" file"));
    }
  }
  return bundle;
}

}  // namespace wink::control
