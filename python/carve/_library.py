"""Finds and loads libcarve_ops.so, which registers the operators torch.ops.carve.*."""
import os

import torch

_HERE = os.path.dirname(os.path.abspath(__file__))
_loaded = None


def _candidates():
    """Where the library may be, in the order tried, each with where the path came from."""
    env = os.environ.get("CARVE_OPS_LIBRARY")
    if env:
        yield env, "CARVE_OPS_LIBRARY"
        return
    try:  # an installation: CMake wrote the path relative to this package
        from . import _installed
        yield os.path.normpath(os.path.join(_HERE, _installed.OPS_LIBRARY)), "the installation"
    except ImportError:
        pass
    # A checkout: python/carve beside the default build directory.
    build = os.environ.get("CARVE_BUILD_DIR", os.path.join(_HERE, "..", "..", "build"))
    yield os.path.normpath(os.path.join(build, "libcarve_ops.so")), "the build directory"


def load_library(path=None):
    """Loads the operators' library (once) and returns its path.

    Without `path`: $CARVE_OPS_LIBRARY, else the installed library (PREFIX/lib), else the build
    directory of the checkout this package is in ($CARVE_BUILD_DIR, default build/).
    """
    global _loaded
    if _loaded is not None and path is None:
        return _loaded
    tried = []
    for candidate, origin in ([(path, "the argument")] if path else _candidates()):
        if os.path.isfile(candidate):
            torch.ops.load_library(candidate)
            _loaded = candidate
            return candidate
        tried.append(f"{candidate} ({origin})")
    raise ImportError("carve: libcarve_ops.so not found; tried " + ", ".join(tried) +
                      ". Build it (tools/setup.sh) or set CARVE_OPS_LIBRARY to its path.")
