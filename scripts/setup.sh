#!/usr/bin/env bash
# Installs what HLSP Catalog needs on a Debian/Ubuntu machine, and nothing that is there already:
#   - PostgreSQL (>= 15) with pg_sphere   (apt; as root, or with passwordless sudo)
#   - uv                                  (from PyPI, into the user's ~/.local)
#   - the locked Python dependencies      (uv sync --frozen, into ./.venv)
#   - for the tests (--with-stilts, --with-browser): STILTS, Debian's chromium (apt)
# Without root or sudo it prints the exact apt-get command to run and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo "$@"
  else return 99
  fi
}

apt_install() {
  say "installing: $*"
  local status=0
  { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null &&
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null; } || status=$?
  if [ "$status" -eq 99 ]; then
    say "need root to install system packages. Run:"
    echo "  sudo apt-get install -y $*" >&2
    exit 1
  elif [ "$status" -ne 0 ]; then
    say "apt-get failed (exit $status) installing: $*"
    exit 1
  fi
}

# --- PostgreSQL + pg_sphere ------------------------------------------------------------
pg_major() {  # highest installed server major >= 15, or empty
  local best=""
  for bin in /usr/lib/postgresql/*/bin/postgres; do
    [ -x "$bin" ] || continue
    local m; m=$(basename "$(dirname "$(dirname "$bin")")")
    if [ "$m" -ge 15 ] 2>/dev/null && { [ -z "$best" ] || [ "$m" -gt "$best" ]; }; then best=$m; fi
  done
  echo "$best"
}

distro_major() {
  local codename=""
  [ -r /etc/os-release ] && codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  case "$codename" in
    bookworm) echo 15 ;; trixie) echo 17 ;; noble|oracular) echo 16 ;; plucky) echo 17 ;;
    *) echo 15 ;;
  esac
}

packages=()
want_browser=0
major=$(pg_major)
if [ -z "$major" ]; then
  major=$(distro_major)
  packages+=("postgresql-$major")
fi
[ -f "/usr/share/postgresql/$major/extension/pg_sphere.control" ] || packages+=("postgresql-$major-pgsphere")
for extra in "$@"; do
  case "$extra" in
    --with-stilts) command -v stilts >/dev/null 2>&1 || packages+=(stilts) ;;
    --with-browser) want_browser=1 ;;
  esac
done
command -v python3 >/dev/null 2>&1 || packages+=(python3)
[ ${#packages[@]} -eq 0 ] || apt_install "${packages[@]}"

# The page tests' headless browser: Debian's chromium (Ubuntu's package only starts a snap).
# Optional: without it those tests are skipped, so a failure here only warns.
browser_works() {
  local b
  for b in chromium chromium-browser; do
    command -v "$b" >/dev/null 2>&1 && "$b" --version >/dev/null 2>&1 && return 0
  done
  return 1
}
if [ "$want_browser" -eq 1 ] && ! browser_works; then
  if [ "$(. /etc/os-release 2>/dev/null && echo "${ID:-}")" = debian ]; then
    (apt_install chromium) || say "could not install chromium: the browser tests will be skipped"
  else
    say "no working chromium and no Debian package for it: the browser tests will be skipped"
  fi
fi

# --- uv -------------------------------------------------------------------------------
export PATH="$HOME/.local/bin:$PATH"
if ! command -v uv >/dev/null 2>&1; then
  say "installing uv from PyPI into ~/.local"
  if ! python3 -m pip --version >/dev/null 2>&1; then apt_install python3-pip; fi
  python3 -m pip install --quiet --user uv 2>/dev/null ||
    python3 -m pip install --quiet --user --break-system-packages uv  # PEP 668 systems: uv is one static binary
fi

# --- Python dependencies, exactly as locked -----------------------------------------------
export UV_PYTHON_DOWNLOADS=never
. scripts/python.sh  # after apt: python3 may have just been installed
uv sync --frozen --all-groups --quiet
say "ready: PostgreSQL $major with pg_sphere, $(uv --version), $(uv run --frozen python -c 'import sys; print("Python", sys.version.split()[0], sys.executable)'), .venv synced from uv.lock"

# --- compiled harvest modules (mypyc; see catalog/harvest/native.py) ------------------------
# Rebuilt only when a source changed; the harvest falls back to pure Python when they are
# missing or stale, so a failed build warns instead of stopping. HLSP_NO_NATIVE=1 skips it.
if [ "${HLSP_NO_NATIVE:-0}" = 0 ] && ! uv run --frozen python -m catalog.harvest.nativebuild --check 2>/dev/null; then
  native_needs=()
  command -v cc >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 || native_needs+=(gcc)
  py_headers=$(uv run --frozen python -c 'import os, sysconfig; print(os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))')
  py_version=$(uv run --frozen python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  [ "$py_headers" = True ] || native_needs+=("python$py_version-dev")
  if [ ${#native_needs[@]} -gt 0 ]; then
    say "installing the C toolchain for the compiled harvest modules: ${native_needs[*]}"
    { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null &&
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${native_needs[@]}" >/dev/null; } ||
      say "warning: could not install ${native_needs[*]} (run: sudo apt-get install -y ${native_needs[*]})"
  fi
  say "compiling the harvest's hot modules with mypyc (about a minute)"
  uv run --frozen python -m catalog.harvest.nativebuild >/dev/null ||
    say "warning: compiled harvest modules not built; the harvest runs as pure Python (slower)"
fi
