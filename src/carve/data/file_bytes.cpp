#include "carve/data/file_bytes.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "carve/atomic_file.h"
#include "carve/error.h"

namespace carve::data {

namespace {

bool is_gzip(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char magic[2] = {0, 0};
  in.read(reinterpret_cast<char*>(magic), 2);
  return in.gcount() == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

thread_local FileReads* g_reads = nullptr;

}  // namespace

FileReads::FileReads() : outer_(g_reads) { g_reads = this; }
FileReads::~FileReads() { g_reads = outer_; }
void FileReads::record(const std::string& path) {
  if (g_reads && std::find(g_reads->paths_.begin(), g_reads->paths_.end(), path) == g_reads->paths_.end()) {
    g_reads->paths_.push_back(path);
  }
}
FileReads::Pause::Pause() : saved_(g_reads) { g_reads = nullptr; }
FileReads::Pause::~Pause() { g_reads = saved_; }

std::vector<uint8_t> read_file_bytes(const std::string& path, size_t expected_size) {
  FileReads::record(path);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw DataError(fmt::format("{}: no such file", path));
  }
  std::vector<uint8_t> bytes;
  if (!is_gzip(path)) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw DataError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
    bytes.resize(std::filesystem::file_size(path));
    in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return bytes;
  }
  gzFile gz = gzopen(path.c_str(), "rb");
  if (!gz) throw DataError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  gzbuffer(gz, 1 << 20);
  bytes.resize(expected_size > 0 ? expected_size + 1 : std::filesystem::file_size(path) * 4);
  size_t used = 0;
  for (;;) {
    if (used == bytes.size()) bytes.resize(bytes.size() * 2);
    const size_t want = std::min<size_t>(bytes.size() - used, 1u << 30);
    const int n = gzread(gz, bytes.data() + used, static_cast<unsigned>(want));
    if (n < 0) {
      int code = 0;
      const std::string message = gzerror(gz, &code);
      gzclose(gz);
      throw DataError(fmt::format("{}: corrupt gzip data after {} decompressed bytes: {}", path,
                                  used, message));
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  gzclose(gz);
  bytes.resize(used);
  return bytes;
}

namespace {

// `data` in the gzip format (deflate, level 6, with a gzip header), in memory.
std::string gzip_bytes(const std::string& path, const uint8_t* data, size_t size) {
  z_stream z{};
  if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw WriteError(fmt::format("{}: cannot compress: zlib did not start", path));
  }
  std::string out;
  std::array<char, 1 << 16> buffer{};
  size_t fed = 0;
  for (int status = Z_OK; status != Z_STREAM_END;) {
    if (z.avail_in == 0 && fed < size) {  // avail_in is 32 bits: feed at most 1 GiB at a time
      const auto chunk = std::min<size_t>(size - fed, size_t{1} << 30);
      z.next_in = const_cast<Bytef*>(data + fed);
      z.avail_in = static_cast<uInt>(chunk);
      fed += chunk;
    }
    z.next_out = reinterpret_cast<Bytef*>(buffer.data());
    z.avail_out = static_cast<uInt>(buffer.size());
    status = deflate(&z, fed == size ? Z_FINISH : Z_NO_FLUSH);
    if (status == Z_STREAM_ERROR) {
      deflateEnd(&z);
      throw WriteError(fmt::format("{}: cannot compress: zlib stream error", path));
    }
    out.append(buffer.data(), buffer.size() - z.avail_out);
  }
  deflateEnd(&z);
  return out;
}

}  // namespace

void write_file_bytes(const std::string& path, const uint8_t* data, size_t size, bool gzip) {
  // Compressed in memory, so that a gzip file is written as every other file is: atomically and
  // durably, through the write hook (write_file_atomically).
  if (gzip) {
    write_file_atomically(path, gzip_bytes(path, data, size));
  } else {
    write_file_atomically(path, std::string_view(reinterpret_cast<const char*>(data), size));
  }
}

void write_text_file(const std::string& path, const std::string& text) {
  write_file_bytes(path, reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

std::string read_text_file(const std::string& path) {
  const auto bytes = read_file_bytes(path);
  return std::string(bytes.begin(), bytes.end());
}

nlohmann::json read_json_file(const std::string& path, const std::string& what, const std::string& advice) {
  try {
    return nlohmann::json::parse(read_text_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(fmt::format("{}: not a {} carve wrote ({}){}", path, what, e.what(), advice.empty() ? "" : "; " + advice));
  }
}

}  // namespace carve::data
