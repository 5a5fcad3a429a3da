/// A run directory: the one owner of the rules for creating, overwriting and resuming it, and of
/// every file written into it (atomically and durably, carve/atomic_file.h).
///
///   auto dir = carve::RunDirectory::open("runs/cae", carve::RunDirectory::mode(resume, force));
///   dir.write("summary.json", text);        // temporary file, fsync, rename, fsync directory
///   dir.append("log.txt", "epoch 1/10 ...\n");
///
/// Rules: a new run refuses an existing directory unless forced (which removes it first) or
/// resumed; resuming needs the directory. Refusals are UsageErrors (exit 2) that say what to do.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <string_view>

namespace carve {

/// A run directory being written: created, overwritten or resumed as its Mode says; every file
/// written atomically.
class RunDirectory {
 public:
  enum class Mode {
    create,  ///< refuse an existing directory
    resume,  ///< continue an existing directory (or create it, for a group being resumed)
    force,   ///< remove an existing directory first
  };
  static Mode mode(bool resume, bool force) { return resume ? Mode::resume : force ? Mode::force : Mode::create; }

  /// A single run's directory. On resume it must exist; when it holds `resume_file` (its
  /// checkpoint) or the one kept before it (previous_of), the run continues (resuming() is true),
  /// and when it holds neither — the run was stopped before its first checkpoint — it starts
  /// afresh in place: nothing is removed on resume, its files are rewritten as it goes.
  static RunDirectory open_run(const std::string& path, Mode mode, const std::string& resume_file);
  /// A sweep's, suite's or stack's directory: on resume it is kept (or created when absent).
  static RunDirectory open_group(const std::string& path, Mode mode);

  /// The name under which write(name, bytes, keep_previous) keeps the bytes it replaced, by
  /// carve's convention: "checkpoint.pt" -> "checkpoint.previous.pt".
  static std::string previous_of(const std::string& name);

  const std::filesystem::path& path() const { return path_; }
  /// Whether open_run found a checkpoint to continue from.
  bool resuming() const { return resuming_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  bool has(const std::string& name) const { return std::filesystem::exists(path_ / name); }

  /// Replaces `name` atomically (a reader sees the old bytes or the new ones); WriteError on failure.
  /// With `keep_previous`, the bytes it replaces stay in that file (checkpoints: a damaged
  /// latest one leaves the one before it to resume from).
  void write(const std::string& name, std::string_view bytes, const std::string& keep_previous = {}) const;
  void write_json(const std::string& name, const nlohmann::json& value) const;
  /// Appends a line to a log (not atomic: a log is read as lines); WriteError on failure.
  void append(const std::string& name, const std::string& text) const;

 private:
  explicit RunDirectory(std::filesystem::path path, bool resuming = false)
      : path_(std::move(path)), resuming_(resuming) {}
  std::filesystem::path path_;
  bool resuming_ = false;
};

}  // namespace carve
