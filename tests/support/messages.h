// An observer that keeps every message a run tells (notify), for tests that look for one.
#pragma once

#include <string>

#include "carve/train/observer.h"

namespace carve::testing {

struct Messages : RunObserver {
  void on_message(const std::string& text) override { lines += text + "\n"; }
  bool any(const std::string& part) const { return lines.find(part) != std::string::npos; }
  const std::string& all() const { return lines; }
  std::string lines;
};

}  // namespace carve::testing
