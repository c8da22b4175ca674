#!/bin/sh
# install_test.sh BUILD_DIR DATA_DIR: `cmake --install` into a fresh prefix gives a usable tree.
# From another working directory, by the installed paths only: the installed
# vkmnist trains an epoch on a subset and evaluates its checkpoint, vkbench answers, and the
# fetcher, the PyTorch script and the README are where the README says.
set -eu
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$1" --prefix "$prefix" >/dev/null
for f in bin/vkmnist bin/vkbench share/vkmnist/fetch-mnist share/vkmnist/bench/torch_reference.py; do
  [ -x "$prefix/$f" ] || { echo "install_test: $f missing or not executable" >&2; exit 1; }
done
for f in share/doc/vkmnist/README.md share/doc/vkmnist/docs/reliability.md; do
  [ -f "$prefix/$f" ] || { echo "install_test: $f missing" >&2; exit 1; }
done
# Every figure the installed README shows is installed beside it.
for png in $(grep -o '](docs/[^)]*[.]png)' "$prefix/share/doc/vkmnist/README.md" | sed 's/^](//; s/)$//'); do
  [ -f "$prefix/share/doc/vkmnist/$png" ] || { echo "install_test: the README shows $png, not installed" >&2; exit 1; }
done
cd "$prefix"
"$prefix/bin/vkmnist" --version
"$prefix/bin/vkbench" --version
"$prefix/bin/vkmnist" --data "$2" --epochs 1 --train-limit 512 --test-limit 256 --quiet --out run
"$prefix/bin/vkmnist" eval --model run --data "$2"
echo "install_test: the installed tree in $prefix works"
