#!/bin/sh
# Print the path of a Python >= 3.12 interpreter, or explain and exit 1.
# Looks at $PYTHON, then python3.13/python3.12/python3/python on PATH, then pyenv's versions.
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
for cand in "${PYTHON:-}" python3.14 python3.13 python3.12 python3 python; do
  [ -n "$cand" ] || continue
  path=$(command -v "$cand" 2>/dev/null) || continue
  if ok "$path"; then echo "$path"; exit 0; fi
done
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
for path in $(ls -d "$root"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do
  if ok "$path"; then echo "$path"; exit 0; fi
done
echo "error: allocator needs Python 3.12 or newer (PuLP 4.x requires it; on 3.11 pip silently installs PuLP 3)." >&2
echo "  none found on PATH or in pyenv. Install one (e.g. 'pyenv install 3.12') or run: make PYTHON=/path/to/python3.12" >&2
exit 1
