/// CSV as RFC 4180 writes it: a field holding a comma, a quote or a line break is quoted, with
/// its quotes doubled; records end in "\n". Every CSV file carve writes goes through these.
///
///   std::string csv = carve::csv_row({"rank", "point"});
///   csv += carve::csv_row({"1", "contractive.weight=0.1,corruption.level=0.2"});
///   // rank,point\n1,"contractive.weight=0.1,corruption.level=0.2"\n
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace carve {

/// One field, quoted when it needs to be.
std::string csv_field(std::string_view text);
/// One record: the fields joined by commas, then "\n".
std::string csv_row(const std::vector<std::string>& fields);

}  // namespace carve
