// Subcommands of the `carve` command. Each add_* registers its options on the parent and
// returns the action to run when that subcommand was chosen.
#pragma once

#include <CLI/CLI.hpp>

#include <filesystem>
#include <functional>
#include <string>

namespace carve::cli {

using Action = std::function<int()>;

// This executable's absolute path: what --jobs' children and SLURM's batch scripts run.
inline std::string carve_executable() { return std::filesystem::read_symlink("/proc/self/exe").string(); }

// A whole number of at least `min`, said plainly when it is not ("must be a whole number >= 1,
// got 0"; CLI11's own range checks print the double's 300-digit maximum).
inline CLI::Validator at_least(long long min) {
  return CLI::Validator(
      [min](std::string& text) -> std::string {
        try {
          size_t used = 0;
          const long long v = std::stoll(text, &used);
          if (used == text.size() && v >= min) return {};
        } catch (const std::exception&) {
        }
        return "must be a whole number >= " + std::to_string(min) + ", got '" + text + "'";
      },
      ">= " + std::to_string(min));
}

void add_penalty_commands(CLI::App& app, Action& action);
void add_bench_commands(CLI::App& app, Action& action);
void add_data_commands(CLI::App& app, Action& action);
void add_cluster_commands(CLI::App& app, Action& action);
void add_run_commands(CLI::App& app, Action& action, const std::string& command_line);

}  // namespace carve::cli
