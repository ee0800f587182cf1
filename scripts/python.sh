# Sourced by ./run and scripts/setup.sh: the interpreter uv builds .venv with.
# The distribution's python3 when it is 3.11 or later: Debian and Ubuntu build it with
# profile-guided and link-time optimisation, and the harvest's Python work runs ~9 % faster
# on it than on a default source build (pyenv's, say) that may come first on PATH
# (benchmarks/RESULTS.md). A UV_PYTHON set by the caller wins.
if [ -z "${UV_PYTHON:-}" ] && [ -x /usr/bin/python3 ] &&
  /usr/bin/python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  export UV_PYTHON=/usr/bin/python3
fi
