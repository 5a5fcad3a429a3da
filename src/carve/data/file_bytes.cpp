#include "carve/data/file_bytes.h"

#include <fmt/format.h>
#include <zlib.h>

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

}  // namespace

std::vector<uint8_t> read_file_bytes(const std::string& path, size_t expected_size) {
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

void write_file_bytes(const std::string& path, const uint8_t* data, size_t size, bool gzip) {
  const std::string tmp = path + ".tmp";
  if (gzip) {
    before_write(path);
    gzFile gz = gzopen(tmp.c_str(), "wb6");
    if (!gz) throw WriteError(fmt::format("{}: cannot write: {}", path, std::strerror(errno)));
    const auto fail = [&](const char* why) {
      std::remove(tmp.c_str());
      throw WriteError(fmt::format("{}: write failed: {}", path, why));
    };
    size_t done = 0;
    while (done < size) {
      const unsigned chunk = static_cast<unsigned>(std::min<size_t>(size - done, 1u << 30));
      if (gzwrite(gz, data + done, chunk) != static_cast<int>(chunk)) {
        const std::string why = std::strerror(errno);
        gzclose(gz);
        fail(why.c_str());
      }
      done += chunk;
    }
    if (gzclose(gz) != Z_OK) fail(std::strerror(errno));
  } else {
    write_file_atomically(path, std::string_view(reinterpret_cast<const char*>(data), size));
    return;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw WriteError(fmt::format("{}: cannot rename into place: {}", path, ec.message()));
  }
}

void write_text_file(const std::string& path, const std::string& text) {
  write_file_bytes(path, reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

std::string read_text_file(const std::string& path) {
  const auto bytes = read_file_bytes(path);
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace carve::data
