// Client of the control API (what `wink deploy`, `wink apps`, `wink logs`,
// `wink scale`, `wink quotas` and `wink instance` use): one request per
// connection to "unix:PATH", "http://HOST:PORT" or "https://HOST:PORT"
// (certificate verified; --ca-file adds the CA to trust).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "common/result.h"

namespace wink::control {

struct ClientOptions {
  std::string node;                    // "" : unix:<data_dir>/control.sock
  std::filesystem::path data_dir;      // for the default socket and token
  std::filesystem::path token_file;    // "" : <data_dir>/control.token when TCP and it exists
  std::filesystem::path ca_file;       // https: CA bundle to trust ("" : the system's)
  std::chrono::milliseconds timeout{600'000};  // one read or write (a deploy compiles meanwhile)
};

struct ClientResponse {
  int status = 0;
  std::string body;
};

class Client {
 public:
  // Resolves the node address and reads the token; no connection yet.
  static Result<Client> open(const ClientOptions& options);

  // Sends one request; `on_line`, when given, receives each line of the body
  // as it arrives (newline-delimited events) and the body is not kept.
  Result<ClientResponse> request(const std::string& method, const std::string& target, const std::string& body = "",
                                 const std::string& content_type = "application/json",
                                 const std::function<void(const std::string&)>& on_line = nullptr) const;

  // request() for JSON endpoints: the parsed body of a 2xx answer, else an
  // error carrying the server's {"error": ...} message.
  Result<nlohmann::json> call(const std::string& method, const std::string& target,
                              const nlohmann::json& body = nullptr) const;

  // "unix:/path" or "https://host:port", for messages.
  const std::string& address() const { return address_; }

 private:
  Result<int> connect_socket() const;

  std::string address_;
  std::string unix_path_;  // set for unix:
  std::string host_;       // TCP
  uint16_t port_ = 0;
  bool tls_ = false;
  std::string token_;
  std::filesystem::path ca_file_;
  std::chrono::milliseconds timeout_{};
};

// The default socket of a node with this data directory.
std::filesystem::path default_socket_path(const std::filesystem::path& data_dir);
// The default token file of a node with this data directory.
std::filesystem::path default_token_path(const std::filesystem::path& data_dir);

}  // namespace wink::control
