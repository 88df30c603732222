#!/usr/bin/env bash
# npm run lint: the TypeScript compiler's strict checks over ts/ and test/, one formatter for each
# language (prettier for TypeScript, clang-format for C/C++ with the repository's .clang-format).
# `npm run format` rewrites files into that form. Exit status 0 only when every check passes.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
fix=0
[ "${1:-}" = "--fix" ] && fix=1
c_files() { find backend test/fixtures -type f \( -name '*.c' -o -name '*.h' -o -name '*.cpp' \) | sort; }
ts_globs=('ts/**/*.ts' 'test/**/*.ts' 'scripts/*.mjs')
status=0

if [ "$fix" = 1 ]; then
  npx --no-install prettier --log-level warn --write "${ts_globs[@]}" || status=1
  if command -v clang-format >/dev/null; then c_files | xargs clang-format -i || status=1; else
    echo "lint: clang-format not found (Debian: apt-get install clang-format)" >&2; status=1; fi
  exit $status
fi

echo "lint: tsc (strict flags, ts/ and test/)"
npx --no-install tsc -p tsconfig.lint.json || status=1
echo "lint: prettier"
npx --no-install prettier --log-level warn --check "${ts_globs[@]}" || status=1
echo "lint: clang-format"
if command -v clang-format >/dev/null; then
  c_files | xargs clang-format --dry-run --Werror || status=1
else
  echo "lint: clang-format not found (Debian: apt-get install clang-format)" >&2
  status=1
fi
[ $status = 0 ] && echo "lint: clean"
exit $status
