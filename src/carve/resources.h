/// Where carve finds the files it ships beside its code: the plotting script (plot/), the Python
/// peers of the benchmarks (bench/) and the default data directory (data/). No path of the build
/// or source tree is compiled in; the first of these that holds plot/carve_plot.py is used:
///
///   1. $CARVE_HOME, laid out as PREFIX/share/carve is;
///   2. PREFIX/share/carve, PREFIX being the directory above the running executable's — an
///      installed carve (PREFIX/bin/carve), or a program installed beside it;
///   3. share/carve beside the running executable (the build tree: CMake links BUILD/share/carve
///      to the checkout's tools/plot, tools/bench and data, for BUILD/carve and BUILD/tests/...).
///
///   const auto script = carve::resource_path("plot/carve_plot.py");
///
/// A program elsewhere (a consumer of the installed library in its own build tree) sets
/// CARVE_HOME=PREFIX/share/carve, or passes the paths it needs (AnalysisOptions::plotter,
/// --data-dir, CARVE_DATA_DIR).
#pragma once

#include <string>

namespace carve {

/// The directory of carve's shared files (see above); empty when none is found.
std::string resource_directory();

/// `relative` inside resource_directory(); UsageError naming the places searched when absent.
std::string resource_path(const std::string& relative);

/// The Python that carve runs for its plots and the benchmarks' peers: $CARVE_PYTHON when set
/// (a virtual environment's python3 with matplotlib and torch, as on a GPU machine), else
/// Debian's /usr/bin/python3 (the first python3 on PATH may be another).
std::string python_interpreter();

}  // namespace carve
