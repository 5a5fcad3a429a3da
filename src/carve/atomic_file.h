/// Durable, atomic file writes: a reader sees the old file or the new one, never a part.
///
///   carve::write_file_atomically("runs/cae/summary.json", text);
///
/// The bytes go to a temporary file beside the target, which is flushed to disk (fsync), renamed
/// over the target, and the directory is flushed too, so that a crash or power loss leaves either
/// version whole. A failure throws carve::WriteError naming the file and the cause, and removes
/// the temporary file.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace carve {

void write_file_atomically(const std::string& path, std::string_view bytes);

/// Tests: `hook` is called with the target path before every write; throwing from it fails that
/// write as a full disk would. An empty function removes the hook.
void set_write_hook(std::function<void(const std::string& path)> hook);

}  // namespace carve
