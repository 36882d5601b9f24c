// Content hashing for the artifact cache and snapshot identity.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace wink {

// Incremental SHA-256 (OpenSSL underneath); hex() gives the lowercase digest.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  Sha256& update(std::span<const uint8_t> bytes);
  Sha256& update(std::string_view text);
  std::string hex();

 private:
  void* ctx_;
};

}  // namespace wink
