// Whole-file reads, transparently gunzipped, with errors that name the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace carve::data {

// The file's bytes, decompressed when it starts with the gzip magic (1f 8b). `expected_size`,
// when known, sizes the buffer up front. Throws DataError naming the file if it is missing,
// unreadable or a corrupt gzip stream.
std::vector<uint8_t> read_file_bytes(const std::string& path, size_t expected_size = 0);

// Writes atomically and durably (write_file_atomically), gzip-compressed when `gzip`; WriteError on failure.
void write_file_bytes(const std::string& path, const uint8_t* data, size_t size, bool gzip = false);

// Text files: written atomically, read whole (DataError naming a missing file).
void write_text_file(const std::string& path, const std::string& text);
std::string read_text_file(const std::string& path);

}  // namespace carve::data
