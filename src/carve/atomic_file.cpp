#include "carve/atomic_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "carve/error.h"

namespace carve {

namespace {

std::mutex hook_mutex;
std::function<void(const std::string&)>& hook() {
  static std::function<void(const std::string&)> h;
  return h;
}

// The cause of the last failed call, as a sentence.
std::string cause() { return std::strerror(errno); }

// Writes all of `bytes` to the open descriptor, then flushes it to disk.
void write_all(int fd, std::string_view bytes, const std::string& tmp) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw WriteError(fmt::format("{}: write failed: {}", tmp, n < 0 ? cause() : "no progress"));
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 && errno != EINVAL && errno != EROFS) {
    throw WriteError(fmt::format("{}: cannot flush to disk: {}", tmp, cause()));
  }
}

// The directory entry of the rename survives a crash only once the directory is flushed.
void sync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;  // some file systems refuse to open directories: the rename is still atomic
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void set_write_hook(std::function<void(const std::string& path)> h) {
  std::lock_guard<std::mutex> lock(hook_mutex);
  hook() = std::move(h);
}

void write_file_atomically(const std::string& path, std::string_view bytes) {
  {
    std::lock_guard<std::mutex> lock(hook_mutex);
    if (hook()) hook()(path);
  }
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw WriteError(fmt::format("{}: cannot write: {}", path, cause()));
  try {
    write_all(fd, bytes, tmp);
  } catch (const WriteError& e) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw WriteError(fmt::format("{}: {}", path, std::string(e.what()).substr(tmp.size() + 2)));
  }
  if (::close(fd) != 0) {
    const auto why = cause();
    ::unlink(tmp.c_str());
    throw WriteError(fmt::format("{}: write failed: {}", path, why));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const auto why = cause();
    ::unlink(tmp.c_str());
    throw WriteError(fmt::format("{}: cannot rename into place: {}", path, why));
  }
  sync_directory(std::filesystem::path(path).parent_path());
}

}  // namespace carve
