// Runs the `carve` executable built beside the tests and captures its exit code and output.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

namespace carve::testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `text` as one shell word (for paths in run_carve's arguments; no single quotes inside).
inline std::string quoted(const std::string& text) { return "'" + text + "'"; }

// `args` is appended to the executable's path as shell words (quote them yourself: quoted()).
// With `cwd`, the command runs in that directory.
inline CommandResult run_carve(const std::string& args, const std::string& cwd = "") {
  namespace fs = std::filesystem;
  const auto dir = fs::temp_directory_path() / ("carve_cli_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto out = dir / "stdout", err = dir / "stderr";
  const std::string command = (cwd.empty() ? std::string() : "cd " + quoted(cwd) + " && ") + "'" + CARVE_EXE + "' " +
                              args + " > '" + out.string() + "' 2> '" + err.string() + "' < /dev/null";
  const int status = std::system(command.c_str());
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = slurp(out);
  result.err = slurp(err);
  fs::remove_all(dir);
  return result;
}

inline size_t count_lines(const std::string& text) {
  size_t n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

}  // namespace carve::testing
