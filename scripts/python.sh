# Sourced by ./run and scripts/setup.sh: the interpreter uv builds .venv with.
# The distribution's python3 when it is 3.11 or later: Debian and Ubuntu build it with
# profile-guided and link-time optimisation, and the harvest needs ~7 % less CPU per file
# on it than on a default source build (pyenv's, say) that may come first on PATH
# (benchmarks/RESULTS.md). Only when its headers are there or can be installed (root or
# passwordless sudo): without them the compiled harvest modules cannot be built, and the
# pure-Python harvest would cost far more than the interpreter saves. A UV_PYTHON set by
# the caller wins.
if [ -z "${UV_PYTHON:-}" ] && [ -x /usr/bin/python3 ] &&
  /usr/bin/python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null &&
  { /usr/bin/python3 -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' 2>/dev/null ||
    [ "$(id -u)" -eq 0 ] || { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }; }; then
  export UV_PYTHON=/usr/bin/python3
fi
