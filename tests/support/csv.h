// A strict RFC 4180 reader for tests: every record must have as many fields as the header, a
// quote may appear only around a whole field (doubled inside it), and records end in "\n" (the
// RFC's CRLF is accepted too). Anything else fails the test that reads the file.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace carve::testing {

struct Csv {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;

  size_t column(const std::string& name) const {
    for (size_t i = 0; i < header.size(); ++i)
      if (header[i] == name) return i;
    throw std::runtime_error("no column '" + name + "'");
  }
  const std::string& at(size_t row, const std::string& name) const { return rows.at(row).at(column(name)); }
};

// Throws std::runtime_error naming the record and the fault.
inline Csv parse_csv_strict(const std::string& text) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  size_t i = 0;
  const auto fail = [&](const std::string& why) {
    throw std::runtime_error("record " + std::to_string(records.size() + 1) + ": " + why);
  };
  if (text.empty()) fail("empty file");
  while (i < text.size()) {
    if (text[i] == '"') {  // a quoted field
      ++i;
      for (;;) {
        if (i >= text.size()) fail("unterminated quoted field");
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += text[i++];
      }
      if (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') fail("characters after a closing quote");
    } else {
      while (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
        if (text[i] == '"') fail("a quote inside an unquoted field");
        field += text[i++];
      }
    }
    record.push_back(field);
    field.clear();
    if (i >= text.size()) fail("no line break after the last record");
    if (text[i] == ',') {
      ++i;
      continue;
    }
    if (text[i] == '\r') {
      if (i + 1 >= text.size() || text[i + 1] != '\n') fail("a bare carriage return");
      ++i;
    }
    ++i;  // '\n'
    records.push_back(record);
    record.clear();
  }
  Csv csv;
  csv.header = records.front();
  for (size_t r = 1; r < records.size(); ++r) {
    if (records[r].size() != csv.header.size()) {
      throw std::runtime_error("record " + std::to_string(r + 1) + " has " + std::to_string(records[r].size()) +
                               " fields, the header " + std::to_string(csv.header.size()));
    }
    csv.rows.push_back(records[r]);
  }
  return csv;
}

}  // namespace carve::testing
