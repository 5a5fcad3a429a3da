#include "carve/orchestration/task_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <sstream>

#include "carve/error.h"

namespace carve {

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "unknown-host";
  return name;
}

namespace {

// CARVE_LOCK=file: behave as on a filesystem without flock (tests of the fallback).
bool flock_wanted() {
  const char* mode = std::getenv("CARVE_LOCK");
  return mode == nullptr || std::string(mode) != "file";
}

enum class Flock { taken, held, unsupported };

Flock try_flock(int fd) {
  if (!flock_wanted()) return Flock::unsupported;
  if (flock(fd, LOCK_EX | LOCK_NB) == 0) return Flock::taken;
  if (errno == EWOULDBLOCK) return Flock::held;
  return Flock::unsupported;  // ENOLCK, EOPNOTSUPP, EINVAL: a filesystem without flock
}

struct Holder {
  std::string host, time;
  long pid = 0;
};

Holder read_holder(int fd) {
  char buffer[512] = {};
  const auto n = pread(fd, buffer, sizeof buffer - 1, 0);
  Holder h;
  if (n <= 0) return h;
  std::istringstream in(std::string(buffer, static_cast<size_t>(n)));
  in >> h.host >> h.pid >> h.time;
  return h;
}

std::string describe(const Holder& h) {
  return fmt::format("host {} pid {}{}", h.host.empty() ? "?" : h.host, h.pid,
                     h.time.empty() ? "" : " since " + h.time);
}

void write_holder(int fd) {
  char stamp[32] = {};
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  const auto text = fmt::format("{} {} {}\n", host_name(), static_cast<long>(getpid()), stamp);
  if (ftruncate(fd, 0) != 0 || pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    throw WriteError(fmt::format("cannot write the task lock: {}", std::strerror(errno)));
  }
  fsync(fd);
}

// The holder of an existing lock file is gone: its flock is free, or (without flock) it was on
// this host and its process no longer exists.
bool stale(Flock flock_state, const Holder& h) {
  if (flock_state == Flock::taken) return true;
  if (flock_state == Flock::held) return false;
  return h.host == host_name() && h.pid > 0 && kill(static_cast<pid_t>(h.pid), 0) != 0 && errno == ESRCH;
}

// Whether `fd` is still the file at `path` (not one removed and replaced meanwhile).
bool same_file(int fd, const std::string& path) {
  struct stat a {}, b {};
  return fstat(fd, &a) == 0 && stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace

TaskLock TaskLock::acquire(const std::string& path, const std::string& what) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) {
      try_flock(fd);  // for the liveness test of others; the exclusive create is the lock
      write_holder(fd);
      return TaskLock(path, fd);
    }
    if (errno != EEXIST) throw WriteError(fmt::format("{}: cannot create the task lock: {}", path, std::strerror(errno)));
    fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) continue;  // released meanwhile: try again
    const auto state = try_flock(fd);
    const auto h = read_holder(fd);
    if (!stale(state, h)) {
      close(fd);
      throw UsageError(fmt::format("task {} is running already ({}; lock {}); wait for it, or remove the lock if "
                                   "that process is gone",
                                   what, describe(h), path));
    }
    if (!same_file(fd, path)) {  // released and taken again meanwhile
      close(fd);
      continue;
    }
    // A stale lock: ours now (the flock, where there is one, keeps a second taker out).
    write_holder(fd);
    return TaskLock(path, fd);
  }
  throw UsageError(fmt::format("task {}: its lock {} keeps changing hands; is another process starting it?", what, path));
}

std::string TaskLock::holder(const std::string& path) {
  const int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return "";
  const auto state = try_flock(fd);
  const auto h = read_holder(fd);
  const bool is_stale = stale(state, h);
  close(fd);  // drops the flock we may have taken
  return is_stale ? "" : describe(h);
}

TaskLock::TaskLock(TaskLock&& other) noexcept : path_(std::move(other.path_)), fd_(other.fd_) { other.fd_ = -1; }

TaskLock::~TaskLock() {
  if (fd_ < 0) return;
  unlink(path_.c_str());  // before closing: nobody may take the file we still flock
  close(fd_);
}

}  // namespace carve
