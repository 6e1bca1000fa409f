#!/usr/bin/env bash
# Prints a Python 3.10 interpreter: python3.10 on PATH, else pyenv's newest 3.10.
set -euo pipefail
if python3.10 -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
  command -v python3.10; exit 0
fi
if command -v pyenv >/dev/null; then
  for v in $(pyenv versions --bare | grep -E '^3\.10(\.|$)' | sort -V -r); do
    p="$(pyenv root)/versions/$v/bin/python"
    [ -x "$p" ] && { echo "$p"; exit 0; }
  done
fi
echo "Python 3.10 is needed (Rasa 3.6 runs on Python <3.11): install python3.10 or 'pyenv install 3.10'" >&2
exit 1
