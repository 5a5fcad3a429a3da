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

// Makes `previous` a whole copy of `path` as it is now, replacing any older one atomically: a
// hard link (free), or where the file system has none, a copy through a temporary file.
void keep_as(const std::string& path, const std::string& previous) {
  const std::string tmp = previous + ".tmp";
  ::unlink(tmp.c_str());
  if (::link(path.c_str(), tmp.c_str()) != 0) {
    std::error_code ec;
    std::filesystem::copy_file(path, tmp, std::filesystem::copy_options::overwrite_existing, ec);
    if (ec) {
      ::unlink(tmp.c_str());
      throw WriteError(fmt::format("{}: cannot keep the previous version: {}", previous, ec.message()));
    }
  }
  if (::rename(tmp.c_str(), previous.c_str()) != 0) {
    const auto why = cause();
    ::unlink(tmp.c_str());
    throw WriteError(fmt::format("{}: cannot keep the previous version: {}", previous, why));
  }
}

}  // namespace

void set_write_hook(std::function<void(const std::string& path)> h) {
  std::lock_guard<std::mutex> lock(hook_mutex);
  hook() = std::move(h);
}

void before_write(const std::string& path) {
  std::lock_guard<std::mutex> lock(hook_mutex);
  if (hook()) hook()(path);
}

void write_file_atomically(const std::string& path, std::string_view bytes, const std::string& keep_previous) {
  before_write(path);
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto type = fs::status(path, ec).type();
  if (type == fs::file_type::character || type == fs::file_type::fifo) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) throw WriteError(fmt::format("{}: cannot write: {}", path, cause()));
    try {
      write_all(fd, bytes, path);
    } catch (const WriteError&) {
      ::close(fd);
      throw;
    }
    ::close(fd);
    return;
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
  if (!keep_previous.empty() && type == fs::file_type::regular) {
    try {
      keep_as(path, (fs::path(path).parent_path() / keep_previous).string());
    } catch (const WriteError&) {
      ::unlink(tmp.c_str());
      throw;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const auto why = cause();
    ::unlink(tmp.c_str());
    throw WriteError(fmt::format("{}: cannot rename into place: {}", path, why));
  }
  sync_directory(std::filesystem::path(path).parent_path());
}

void copy_directory_atomically(const std::string& from, const std::string& to) {
  namespace fs = std::filesystem;
  const fs::path partial = to + ".partial";
  std::error_code ec;
  fs::remove_all(partial, ec);
  const auto fail = [&](const fs::path& file, const std::string& why) {
    std::error_code ignored;
    fs::remove_all(partial, ignored);
    throw WriteError(fmt::format("{}: cannot copy {} there: {}", file.string(), from, why));
  };
  fs::create_directories(partial, ec);
  if (ec) fail(partial, ec.message());
  for (fs::recursive_directory_iterator it(from, ec), end; !ec && it != end; it.increment(ec)) {
    const auto target = partial / fs::relative(it->path(), from);
    try {
      before_write(target.string());
    } catch (const WriteError& e) {
      fail(target, std::string(e.what()).substr(target.string().size() + 2));
    }
    if (it->is_directory(ec)) {
      fs::create_directories(target, ec);
    } else if (!ec) {
      fs::copy_file(it->path(), target, ec);
    }
    if (ec) fail(target, ec.message());
  }
  if (ec) fail(from, ec.message());
  if (::rename(partial.c_str(), to.c_str()) != 0) fail(to, cause());
  sync_directory(fs::path(to).parent_path());
}

}  // namespace carve
