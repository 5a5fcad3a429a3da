// The carve version, set by CMake from project(VERSION).
#pragma once

namespace carve {
inline constexpr const char* version() { return CARVE_VERSION; }
}  // namespace carve
