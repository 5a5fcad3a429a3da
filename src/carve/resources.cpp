#include "carve/resources.h"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "carve/error.h"

namespace carve {

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> candidates() {
  std::vector<fs::path> out;
  if (const char* home = std::getenv("CARVE_HOME"); home != nullptr && *home != '\0') out.emplace_back(home);
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    out.push_back(exe.parent_path().parent_path() / "share" / "carve");
    out.push_back(exe.parent_path() / "share" / "carve");
  }
  return out;
}

}  // namespace

std::string resource_directory() {
  for (const auto& dir : candidates()) {
    std::error_code ec;
    if (fs::exists(dir / "plot" / "carve_plot.py", ec)) return dir.string();
  }
  return {};
}

std::string resource_path(const std::string& relative) {
  const auto dir = resource_directory();
  if (!dir.empty() && fs::exists(fs::path(dir) / relative)) return (fs::path(dir) / relative).string();
  std::string searched;
  for (const auto& c : candidates()) searched += (searched.empty() ? "" : ", ") + c.string();
  throw UsageError(fmt::format("carve's shared files were not found ({} in {}): set CARVE_HOME to the directory that "
                               "holds plot/, bench/ and data/ (PREFIX/share/carve of an installed carve)",
                               relative, searched.empty() ? "no place" : searched));
}

std::string python_interpreter() {
  const char* env = std::getenv("CARVE_PYTHON");
  return env && *env ? env : "/usr/bin/python3";
}

}  // namespace carve
