#include "carve/train/run_directory.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "carve/atomic_file.h"
#include "carve/error.h"
#include "carve/profile.h"

namespace carve {

namespace fs = std::filesystem;

namespace {

void create(const fs::path& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) throw WriteError(fmt::format("{}: cannot create the run directory: {}", path.string(), ec.message()));
}

void refuse_existing(const fs::path& path, RunDirectory::Mode mode) {
  if (!fs::exists(path)) return;
  if (mode == RunDirectory::Mode::force) {
    std::error_code ec;
    fs::remove_all(path, ec);
    if (ec) throw WriteError(fmt::format("{}: cannot remove it (--force): {}", path.string(), ec.message()));
  } else if (mode == RunDirectory::Mode::create) {
    throw UsageError(fmt::format("{} exists: use --resume to continue it or --force to overwrite it", path.string()));
  }
}

}  // namespace

RunDirectory RunDirectory::open_run(const std::string& path, Mode mode, const std::string& resume_file) {
  const fs::path dir(path);
  if (mode == Mode::resume) {
    if (!fs::exists(dir)) throw UsageError(fmt::format("{}: nothing to resume (no such run directory)", path));
    if (fs::exists(dir / resume_file) || fs::exists(dir / previous_of(resume_file))) {
      return RunDirectory(dir, /*resuming=*/true);
    }
    // Stopped before its first checkpoint: it starts afresh in place, its files rewritten as it
    // goes; nothing is removed (the caller checked that the directory holds the same experiment).
    return RunDirectory(dir);
  }
  refuse_existing(dir, mode);
  create(dir);
  return RunDirectory(dir);
}

std::string RunDirectory::previous_of(const std::string& name) {
  const fs::path p(name);
  return (p.parent_path() / (p.stem().string() + ".previous" + p.extension().string())).string();
}

RunDirectory RunDirectory::open_group(const std::string& path, Mode mode) {
  refuse_existing(path, mode);
  create(path);
  return RunDirectory(path);
}

void RunDirectory::write(const std::string& name, std::string_view bytes, const std::string& keep_previous) const {
  profile::Scope writing(profile::Phase::writes);
  write_file_atomically(file(name), bytes, keep_previous);
}

void RunDirectory::write_json(const std::string& name, const nlohmann::json& value) const {
  profile::Scope writing(profile::Phase::writes);
  write(name, value.dump(2) + "\n");
}

void RunDirectory::append(const std::string& name, const std::string& text) const {
  profile::Scope writing(profile::Phase::writes);
  before_write(file(name));
  std::ofstream out(path_ / name, std::ios::app);
  out << text;
  out.flush();
  if (!out) throw WriteError(fmt::format("{}: write failed: {}", file(name), std::strerror(errno)));
}

}  // namespace carve
