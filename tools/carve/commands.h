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

void add_penalty_commands(CLI::App& app, Action& action);
void add_bench_commands(CLI::App& app, Action& action);
void add_data_commands(CLI::App& app, Action& action);
void add_cluster_commands(CLI::App& app, Action& action);
void add_run_commands(CLI::App& app, Action& action, const std::string& command_line);

}  // namespace carve::cli
