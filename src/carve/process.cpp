#include "carve/process.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>

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

}  // namespace carve
