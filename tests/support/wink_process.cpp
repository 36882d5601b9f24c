// Child processes for tests (see wink_process.h).
#include "support/wink_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace wink::test {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

std::string wink_binary() { return WINK_BIN; }

fs::path guest_wasm(const std::string& name) { return fs::path(WINK_GUEST_DIR) / (name + ".wasm"); }

fs::path shared_data_dir() { return fs::path(WINK_GUEST_DIR).parent_path() / "wagi-test-data"; }

namespace {

// The scratch directories this test program made, removed when it exits
// (WINK_KEEP_TEST_DIRS=1 keeps them for a look). Only the process that made
// them removes them: a forked child that exits must not.
class ScratchDirs {
 public:
  void add(const fs::path& dir) {
    std::lock_guard lock(mutex_);
    dirs_.emplace_back(dir, ::getpid());
  }
  ~ScratchDirs() {
    if (const char* keep = std::getenv("WINK_KEEP_TEST_DIRS"); keep && *keep && std::strcmp(keep, "0") != 0) return;
    for (const auto& [dir, owner] : dirs_) {
      std::error_code ignored;
      if (owner == ::getpid()) fs::remove_all(dir, ignored);
    }
  }

 private:
  std::mutex mutex_;
  std::vector<std::pair<fs::path, pid_t>> dirs_;
};

ScratchDirs& scratch_dirs() {
  static ScratchDirs dirs;
  return dirs;
}

}  // namespace

fs::path scratch_dir(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("wink-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  scratch_dirs().add(dir);
  return dir;
}

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  return ok ? ntohs(addr.sin_port) : 0;
}

uint16_t port_after(std::string_view text, std::string_view prefix, size_t from) {
  if (from >= text.size()) return 0;
  size_t pos = text.find(prefix, from);
  if (pos == std::string_view::npos) return 0;
  pos += prefix.size();
  size_t eol = text.find('\n', pos);
  if (eol == std::string_view::npos) return 0;  // the line may still be arriving
  unsigned long port = 0;
  for (size_t i = pos; i < eol && text[i] >= '0' && text[i] <= '9' && port <= 65535; ++i) {
    port = port * 10 + static_cast<unsigned long>(text[i] - '0');
  }
  return port <= 65535 ? static_cast<uint16_t>(port) : 0;
}

std::vector<std::string> words(std::string_view line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\n')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\n') ++i;
    if (i > start) out.emplace_back(line.substr(start, i - start));
  }
  return out;
}

std::unique_ptr<Process> Process::spawn(std::vector<std::string> argv, SpawnOptions options) {
  if (argv.empty()) return nullptr;
  using Stderr = SpawnOptions::Stderr;
  int out[2], err[2] = {-1, -1};
  if (::pipe2(out, O_CLOEXEC) != 0) return nullptr;
  if (options.stderr_to == Stderr::kCapture && ::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return nullptr;
  }
  // Everything the child needs is built before fork: it only calls
  // async-signal-safe functions afterwards (the test may have threads).
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  std::vector<std::string> env_storage;
  for (char** e = environ; *e; ++e) env_storage.emplace_back(*e);
  for (const auto& kv : options.env) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos) continue;  // "NAME": inherited as it is
    std::string prefix = kv.substr(0, eq + 1);
    std::erase_if(env_storage, [&](const std::string& e) { return e.rfind(prefix, 0) == 0; });
    env_storage.push_back(kv);
  }
  std::vector<char*> envp;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) {
    for (int fd : {out[0], out[1], err[0], err[1]}) {
      if (fd >= 0) ::close(fd);
    }
    return nullptr;
  }
  if (pid == 0) {
    // Its own process group, so whatever it starts (jco serve runs the
    // component in a second Node process) is stopped with it.
    ::setpgid(0, 0);
    if (!options.stdin_path.empty()) {
      int in = ::open(options.stdin_path.c_str(), O_RDONLY);
      if (in < 0) ::_exit(126);
      ::dup2(in, STDIN_FILENO);
    }
    ::dup2(out[1], STDOUT_FILENO);
    if (options.stderr_to == Stderr::kCapture) {
      ::dup2(err[1], STDERR_FILENO);
    } else if (options.stderr_to == Stderr::kIntoStdout) {
      ::dup2(out[1], STDERR_FILENO);
    } else {
      int devnull = ::open("/dev/null", O_WRONLY);
      ::dup2(devnull, STDERR_FILENO);
    }
    ::execvpe(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here: the group exists before spawn returns, whoever runs first
  std::unique_ptr<Process> p(new Process());
  p->pid_ = pid;
  p->group_ = pid;
  ::close(out[1]);
  p->out_fd_ = out[0];
  if (err[1] >= 0) ::close(err[1]);
  p->err_fd_ = err[0];
  p->stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  p->reader_ = std::thread([raw = p.get()] { raw->read_pipes(); });
  return p;
}

Process::~Process() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  // What the child left running (it exited, or was killed, before them).
  if (group_ > 0) ::kill(-group_, SIGKILL);
  if (reader_.joinable()) {
    const uint64_t one = 1;
    if (stop_fd_ >= 0) (void)!::write(stop_fd_, &one, sizeof one);
    reader_.join();
  }
  for (int fd : {out_fd_, err_fd_, stop_fd_}) {
    if (fd >= 0) ::close(fd);
  }
}

void Process::read_pipes() {
  int fds_open[2] = {out_fd_, err_fd_};
  std::string* sinks[2] = {&out_, &err_};
  char buf[65536];
  for (;;) {
    pollfd fds[3];
    int which[3];
    nfds_t n = 0;
    for (int i = 0; i < 2; ++i) {
      if (fds_open[i] < 0) continue;
      fds[n] = {fds_open[i], POLLIN, 0};
      which[n++] = i;
    }
    if (n == 0) break;
    fds[n] = {stop_fd_, POLLIN, 0};
    which[n++] = -1;
    if (::poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[n - 1].revents != 0) break;  // the Process is being destroyed
    for (nfds_t k = 0; k + 1 < n; ++k) {
      if (fds[k].revents == 0) continue;
      const int i = which[k];
      {
        std::lock_guard lock(mu_);
        reading_ = true;
      }
      ssize_t got = ::read(fds_open[i], buf, sizeof buf);
      std::lock_guard lock(mu_);
      reading_ = false;
      if (got < 0 && errno == EINTR) continue;
      if (got > 0) {
        sinks[i]->append(buf, static_cast<size_t>(got));
      } else {
        fds_open[i] = -1;  // EOF (every writer closed it) or a read error; closed by the destructor
      }
      arrived_.notify_all();
    }
  }
  std::lock_guard lock(mu_);
  pipes_closed_ = true;
  arrived_.notify_all();
}

bool Process::unread_bytes() const {
  for (int fd : {out_fd_, err_fd_}) {
    int pending = 0;
    if (fd >= 0 && ::ioctl(fd, FIONREAD, &pending) == 0 && pending > 0) return true;
  }
  return false;
}

void Process::drain() {
  // The child is gone; a grandchild that inherited a pipe may still hold it,
  // so stop at a quiet spell instead of waiting for EOF. A spell counts only
  // when nothing is left to read: on a loaded machine the reader thread may
  // not have run for 200 ms while the child's last words sit in the pipe.
  std::unique_lock lock(mu_);
  for (;;) {
    if (pipes_closed_) return;
    const size_t before = out_.size() + err_.size();
    arrived_.wait_for(lock, milliseconds(200));
    if (!pipes_closed_ && out_.size() + err_.size() == before && !reading_ && !unread_bytes()) return;
  }
}

std::string Process::out() const {
  std::lock_guard lock(mu_);
  return out_;
}

std::string Process::err() const {
  std::lock_guard lock(mu_);
  return err_;
}

bool Process::wait_until(const std::function<bool(const std::string&)>& done, milliseconds timeout) {
  auto end = Clock::now() + timeout;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (done(out_)) return true;
    }
    if (exited()) {
      drain();
      std::lock_guard lock(mu_);
      return done(out_);
    }
    if (Clock::now() >= end) return false;
    std::unique_lock lock(mu_);
    arrived_.wait_for(lock, milliseconds(20));
  }
}

bool Process::wait_for_output(std::string_view needle, milliseconds timeout) {
  return wait_until([&](const std::string& out) { return out.find(needle) != std::string::npos; }, timeout);
}

uint16_t Process::wait_listening(milliseconds timeout) {
  wait_until([&](const std::string& out) { return (port_ = port_after(out, kListeningPrefix)) != 0; }, timeout);
  return port_;
}

bool Process::exited() {
  if (pid_ <= 0) return true;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    status_ = status;
    return true;
  }
  return false;
}

std::string Process::status() const {
  if (pid_ > 0) return "running";
  if (WIFSIGNALED(status_)) return "signal " + std::to_string(WTERMSIG(status_));
  return "exit " + std::to_string(WEXITSTATUS(status_));
}

int Process::exit_value() const { return WIFEXITED(status_) ? WEXITSTATUS(status_) : -WTERMSIG(status_); }

int Process::wait(milliseconds timeout) {
  auto end = Clock::now() + timeout;
  while (!exited()) {
    if (Clock::now() >= end) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status_, 0);
      pid_ = -1;
      break;
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
  drain();
  return exit_value();
}

int Process::stop(milliseconds grace) {
  if (pid_ > 0) ::kill(pid_, SIGTERM);
  return wait(grace);
}

RunResult run(std::vector<std::string> argv, SpawnOptions options, milliseconds timeout) {
  RunResult r;
  auto p = Process::spawn(std::move(argv), std::move(options));
  if (!p) return r;
  const int how = p->wait(timeout);  // exit code, or -signal
  r.out = p->out();
  r.err = p->err();
  r.signal = how < 0 ? -how : 0;
  r.exit_code = how < 0 ? 128 - how : how;
  return r;
}

RunResult run_wink(std::vector<std::string> args, SpawnOptions options, milliseconds timeout) {
  args.insert(args.begin(), wink_binary());
  return run(std::move(args), std::move(options), timeout);
}

}  // namespace wink::test
