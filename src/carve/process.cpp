#include "carve/process.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>

namespace carve {

int ShellResult::exit_code() const { return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

ShellResult run_shell(const std::string& command) {
  ShellResult r;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buffer{};
  while (const size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) r.out.append(buffer.data(), n);
  r.status = pclose(pipe);
  return r;
}

int64_t proc_kib(const std::string& file, const std::string& field) {
  std::ifstream in(file);
  std::string line;
  const std::string key = field + ":";
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0) continue;
    try {
      return std::stoll(line.substr(key.size()));
    } catch (const std::exception&) {
      return -1;
    }
  }
  return -1;
}

}  // namespace carve
