// Error types that the `carve` command turns into one clear line and exit code 2.
//
//   throw carve::UsageError(fmt::format("--inputs must be positive, got {}", n));
//   throw carve::ConfigError("exp.yaml", 3, 7, "unknown key 'lamda' (did you mean 'lambda'?)");
#pragma once

#include <stdexcept>
#include <string>

namespace carve {

// A bad value given by the user: a flag, an option, a name. Exit code 2.
class UsageError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// A bad experiment file; the message starts with FILE:LINE:COL.
class ConfigError : public UsageError {
 public:
  ConfigError(const std::string& file, int line, int column, const std::string& message)
      : UsageError(file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " +
                   message) {}
  explicit ConfigError(const std::string& message) : UsageError(message) {}
};

// A bad data file; the message names the file and the byte offset or line.
class DataError : public UsageError {
 public:
  using UsageError::UsageError;
};

// A write that failed (a full disk, a missing permission, a directory removed underneath): the
// message names the file and the cause. Exit code 1; the previous version of the file is intact.
class WriteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace carve
