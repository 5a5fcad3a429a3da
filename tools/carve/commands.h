// Subcommands of the `carve` command. Each add_* registers its options on the parent and
// returns the action to run when that subcommand was chosen.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace carve::cli {

using Action = std::function<int()>;

void add_penalty_commands(CLI::App& app, Action& action);
void add_bench_commands(CLI::App& app, Action& action);
void add_data_commands(CLI::App& app, Action& action);
void add_cluster_commands(CLI::App& app, Action& action);
void add_run_commands(CLI::App& app, Action& action, const std::string& command_line);

}  // namespace carve::cli
