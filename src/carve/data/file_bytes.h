// Whole-file reads, transparently gunzipped, with errors that name the file.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace carve::data {

// The file's bytes, decompressed when it starts with the gzip magic (1f 8b). `expected_size`,
// when known, sizes the buffer up front. Throws DataError naming the file if it is missing,
// unreadable or a corrupt gzip stream.
std::vector<uint8_t> read_file_bytes(const std::string& path, size_t expected_size = 0);

/// Records, while it lives, the files read_file_bytes reads in this thread (each once, in the
/// order first read): what a data set was loaded from, whatever its format.
///
///   carve::data::FileReads reads;
///   auto d = carve::load_amat("x.amat");
///   reads.paths();   // {"x.amat"}
class FileReads {
 public:
  FileReads();
  ~FileReads();
  FileReads(const FileReads&) = delete;
  FileReads& operator=(const FileReads&) = delete;
  const std::vector<std::string>& paths() const { return paths_; }
  /// Called by read_file_bytes.
  static void record(const std::string& path);

  /// While a Pause lives, nothing is recorded (the inputs of a data set generated on first use
  /// are not what it is read from).
  class Pause {
   public:
    Pause();
    ~Pause();
    Pause(const Pause&) = delete;
    Pause& operator=(const Pause&) = delete;

   private:
    FileReads* saved_;
  };

 private:
  std::vector<std::string> paths_;
  FileReads* outer_;
};

// Writes atomically and durably (write_file_atomically), gzip-compressed when `gzip`; WriteError on failure.
void write_file_bytes(const std::string& path, const uint8_t* data, size_t size, bool gzip = false);

// Text files: written atomically, read whole (DataError naming a missing file).
void write_text_file(const std::string& path, const std::string& text);
std::string read_text_file(const std::string& path);
// A JSON file carve wrote (plan.json, data.json), parsed. One that does not parse is a UsageError
// "PATH: not a WHAT carve wrote (CAUSE)", followed by "; ADVICE" when given.
nlohmann::json read_json_file(const std::string& path, const std::string& what, const std::string& advice = "");

}  // namespace carve::data
