/// Durable, atomic file writes: a reader sees the old file or the new one, never a part.
///
///   carve::write_file_atomically("runs/cae/summary.json", text);
///   carve::write_file_atomically("runs/cae/checkpoint.pt", bytes, "checkpoint.previous.pt");
///
/// The bytes go to a temporary file beside the target, which is flushed to disk (fsync), renamed
/// over the target, and the directory is flushed too, so that a crash or power loss leaves either
/// version whole. A failure — a full disk, a file size limit (carve ignores SIGXFSZ, so that
/// `ulimit -f` gives an error, not a core dump), a missing permission, a directory removed —
/// throws carve::WriteError naming the file and the cause, and removes the temporary file; the
/// old file stays as it was. A target that is a character device or a pipe (/dev/stdout, a
/// FIFO) is written directly: it cannot be renamed over, and must not be.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace carve {

/// `keep_previous`: when not empty and the target exists, the target's current bytes are kept
/// as this file name beside it (a hard link, or a copy where links are not supported) before the
/// new bytes replace it, so that the target and the kept file each stay whole at every moment.
void write_file_atomically(const std::string& path, std::string_view bytes, const std::string& keep_previous = {});

/// Copies the directory `from` to `to` (which must not exist) as a whole: into `to`.partial,
/// then renamed. WriteError naming the file and the cause on failure, with nothing left behind.
void copy_directory_atomically(const std::string& from, const std::string& to);

/// Calls the write hook for `path`: every writer of carve calls it before writing, those that
/// append or compress included (RunDirectory::append, data::write_file_bytes).
void before_write(const std::string& path);

/// Tests: `hook` is called with the target path before every write; throwing from it fails that
/// write as a full disk would. An empty function removes the hook.
void set_write_hook(std::function<void(const std::string& path)> hook);

}  // namespace carve
