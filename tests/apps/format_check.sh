#!/usr/bin/env bash
# Every C++ file in the repository as .clang-format lays it out (clang-format --dry-run --Werror):
# a file that differs fails the test and is named; `clang-format -i FILE` fixes it.
set -euo pipefail
cd "$(dirname "$0")/../.."
clang_format="${1:-clang-format}"
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h')
bad=()
for f in "${files[@]}"; do
  "$clang_format" --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [[ ${#bad[@]} -gt 0 ]]; then
  echo "format_check: ${#bad[@]} of ${#files[@]} files differ from .clang-format (fix: $clang_format -i FILE):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "format_check: ${#files[@]} files as .clang-format lays them out"
