/// A lock that lets one process at a time run a task of a plan, on any shared filesystem.
///
/// The lock is a file created exclusively (O_CREAT | O_EXCL, atomic on NFS v3+ and Lustre),
/// naming the host, process id and time of its holder. The holder also keeps an flock on it:
/// where the filesystem has flock, a lock whose holder died (killed, node lost) is seen as free
/// at once, whichever host looks. Where flock is missing (some Lustre and NFS mounts answer
/// ENOLCK or EOPNOTSUPP), a lock is stale when its host is this one and its process is gone;
/// one held from another host is reported with its host and pid, to be removed by hand if that
/// host is known dead. Released (the file removed) when the TaskLock is destroyed.
///
///   auto lock = carve::TaskLock::acquire("runs/s/tasks/point_lr=0.1.lock", "point/lr=0.1");
///   // ... run the task; a second process gets a UsageError naming the holder
#pragma once

#include <string>

namespace carve {

/// The lock of the file comment.
class TaskLock {
 public:
  /// Takes the lock at `path` (its directory must exist) or throws UsageError naming the task
  /// (`what`) and the holder.
  static TaskLock acquire(const std::string& path, const std::string& what);
  /// "host pid N since TIME" when `path` is held by a live process, else "" (free or stale).
  static std::string holder(const std::string& path);

  TaskLock(TaskLock&& other) noexcept;
  TaskLock& operator=(TaskLock&&) = delete;
  TaskLock(const TaskLock&) = delete;
  ~TaskLock();

 private:
  TaskLock(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_ = -1;
};

/// This machine's host name.
std::string host_name();

}  // namespace carve
