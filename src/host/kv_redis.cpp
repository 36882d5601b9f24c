// The Redis key-value backend (hiredis, synchronous): a pool of connections,
// one per concurrent caller, reconnected once when a command finds its
// connection broken.
//
// Durability is the server's: with `appendonly yes` + `appendfsync always`
// Redis fsyncs its AOF before replying, so an acknowledged SET survives a
// crash of Redis or of the machine; with `appendfsync everysec` (Redis's
// default when AOF is on) up to a second of writes can be lost on power
// failure; without AOF only RDB snapshots persist. wink does not change it.
#include <hiredis/hiredis.h>

#include <algorithm>
#include <mutex>

#include "host/kv.h"

namespace wink::host {
namespace {

struct ReplyDeleter {
  void operator()(redisReply* r) const {
    if (r) freeReplyObject(r);
  }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

// Escapes glob metacharacters so SCAN MATCH treats the prefix literally.
std::string glob_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

class RedisStore final : public KeyValueStore {
 public:
  explicit RedisStore(RedisOptions o) : o_(std::move(o)) {}
  ~RedisStore() override {
    for (redisContext* c : free_) redisFree(c);
  }
  std::string_view kind() const override { return "redis"; }

  Result<void> init() {
    auto c = connect();
    if (!c.ok()) return std::move(c).error();
    release(*c);
    return {};
  }

  Result<bool> get(std::string_view key, std::string& out) override {
    std::string k = o_.key_prefix + std::string(key);
    const char* argv[] = {"GET", k.data()};
    size_t lens[] = {3, k.size()};
    WINK_ASSIGN_OR_RETURN(Reply r, command(2, argv, lens));
    if (r->type == REDIS_REPLY_NIL) return false;
    if (r->type != REDIS_REPLY_STRING) return unexpected(r.get(), "GET");
    if (r->len > kMaxValueBytes) {  // written by something other than wink
      return make_error("redis GET: stored value of " + std::to_string(r->len) + " bytes is over the " +
                        std::to_string(kMaxValueBytes) + "-byte value limit");
    }
    out.assign(r->str, r->len);
    return true;
  }

  Result<void> set(std::string_view key, std::string_view value) override {
    std::string k = o_.key_prefix + std::string(key);
    const char* argv[] = {"SET", k.data(), value.data() ? value.data() : ""};
    size_t lens[] = {3, k.size(), value.size()};
    WINK_ASSIGN_OR_RETURN(Reply r, command(3, argv, lens));
    if (r->type != REDIS_REPLY_STATUS) return unexpected(r.get(), "SET").error();
    return {};
  }

  Result<bool> remove(std::string_view key) override {
    std::string k = o_.key_prefix + std::string(key);
    const char* argv[] = {"DEL", k.data()};
    size_t lens[] = {3, k.size()};
    WINK_ASSIGN_OR_RETURN(Reply r, command(2, argv, lens));
    if (r->type != REDIS_REPLY_INTEGER) return unexpected(r.get(), "DEL");
    return r->integer > 0;
  }

  Result<bool> exists(std::string_view key) override {
    std::string k = o_.key_prefix + std::string(key);
    const char* argv[] = {"EXISTS", k.data()};
    size_t lens[] = {6, k.size()};
    WINK_ASSIGN_OR_RETURN(Reply r, command(2, argv, lens));
    if (r->type != REDIS_REPLY_INTEGER) return unexpected(r.get(), "EXISTS");
    return r->integer > 0;
  }

  // SCAN with MATCH over the whole keyspace: O(keys in the DB), like any
  // prefix listing on Redis. Fine for small stores; documented as such.
  Result<std::vector<std::string>> list(std::string_view prefix, size_t limit) override {
    std::string pattern = glob_escape(o_.key_prefix + std::string(prefix)) + "*";
    std::vector<std::string> keys;
    std::string cursor = "0";
    do {
      const char* argv[] = {"SCAN", cursor.c_str(), "MATCH", pattern.c_str(), "COUNT", "1000"};
      size_t lens[] = {4, cursor.size(), 5, pattern.size(), 5, 4};
      WINK_ASSIGN_OR_RETURN(Reply r, command(6, argv, lens));
      if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
          r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY) {
        return unexpected(r.get(), "SCAN").error();
      }
      cursor.assign(r->element[0]->str, r->element[0]->len);
      redisReply* arr = r->element[1];
      for (size_t i = 0; i < arr->elements; ++i) {
        if (arr->element[i]->type != REDIS_REPLY_STRING) continue;
        std::string k(arr->element[i]->str, arr->element[i]->len);
        keys.push_back(k.substr(o_.key_prefix.size()));
      }
      // SCAN may return a key twice; the cap is applied after de-duplication.
      if (keys.size() > 4 * (limit + 1) + 1000) {
        std::sort(keys.begin(), keys.end());
        keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
        if (keys.size() > limit) break;
      }
    } while (cursor != "0");
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    if (keys.size() > limit + 1) keys.resize(limit + 1);
    return keys;
  }

 private:
  static Result<bool> unexpected(redisReply* r, const char* what) {
    if (r->type == REDIS_REPLY_ERROR) return make_error(std::string("redis ") + what + ": " + std::string(r->str, r->len));
    return make_error(std::string("redis ") + what + ": unexpected reply type " + std::to_string(r->type));
  }

  Result<Reply> command(int argc, const char** argv, const size_t* lens) {
    for (int attempt = 0;; ++attempt) {
      WINK_ASSIGN_OR_RETURN(redisContext * c, acquire());
      Reply r(static_cast<redisReply*>(redisCommandArgv(c, argc, argv, lens)));
      if (r) {
        release(c);
        return r;
      }
      // Connection-level failure (reset, timeout): drop it; retry once on a
      // fresh connection only when the command may not have been applied
      // twice harmfully (all our commands are idempotent).
      std::string err = c->errstr;
      redisFree(c);
      if (attempt == 1) return make_error("redis: " + err);
    }
  }

  Result<redisContext*> connect() {
    timeval tv{o_.timeout_ms / 1000, (o_.timeout_ms % 1000) * 1000};
    redisContext* c = redisConnectWithTimeout(o_.host.c_str(), o_.port, tv);
    if (c == nullptr) return make_error("redis: out of memory");
    if (c->err) {
      std::string e = "redis connect " + o_.host + ":" + std::to_string(o_.port) + ": " + c->errstr;
      redisFree(c);
      return make_error(e);
    }
    redisSetTimeout(c, tv);
    redisEnableKeepAlive(c);
    auto check = [&](redisReply* r, const char* what) -> std::string {
      std::string e;
      if (!r) e = std::string("redis ") + what + ": " + c->errstr;
      else if (r->type == REDIS_REPLY_ERROR) e = std::string("redis ") + what + ": " + r->str;
      if (r) freeReplyObject(r);
      return e;
    };
    std::string e;
    if (!o_.password.empty()) {
      e = check(static_cast<redisReply*>(redisCommand(c, "AUTH %s", o_.password.c_str())), "AUTH");
    }
    if (e.empty() && o_.db != 0) {
      e = check(static_cast<redisReply*>(redisCommand(c, "SELECT %d", o_.db)), "SELECT");
    }
    if (!e.empty()) {
      redisFree(c);
      return make_error(e);
    }
    return c;
  }

  Result<redisContext*> acquire() {
    {
      std::lock_guard lock(mu_);
      if (!free_.empty()) {
        redisContext* c = free_.back();
        free_.pop_back();
        return c;
      }
    }
    return connect();
  }
  void release(redisContext* c) {
    std::lock_guard lock(mu_);
    if (free_.size() < 64) {
      free_.push_back(c);
      return;
    }
    redisFree(c);
  }

  RedisOptions o_;
  std::mutex mu_;
  std::vector<redisContext*> free_;
};

}  // namespace

Result<std::shared_ptr<KeyValueStore>> open_redis_store(const RedisOptions& options) {
  auto store = std::make_shared<RedisStore>(options);
  WINK_TRY(store->init());
  return std::shared_ptr<KeyValueStore>(std::move(store));
}

}  // namespace wink::host
