/// SHA-256 (FIPS 180-4) of bytes and of files: what a run directory records of the data files it
/// read (data.json), so that a resume on other data is refused rather than silently mixed.
///
///   carve::data::sha256_hex(bytes, n);          // "ba7816bf8f01cfea..." for "abc"
///   carve::data::file_sha256("train-images");   // the file's bytes as stored (a .gz file's, too)
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace carve::data {

/// The SHA-256 of `size` bytes, as 64 lowercase hex digits.
std::string sha256_hex(const uint8_t* bytes, size_t size);

/// The SHA-256 of a file's bytes as stored, read in blocks; remembered for the process by path,
/// size and modification time (a sweep's points read the same files). DataError naming the file
/// when it cannot be read.
std::string file_sha256(const std::string& path);

}  // namespace carve::data
