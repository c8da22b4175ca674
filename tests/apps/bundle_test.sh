#!/usr/bin/env bash
# The bundle as a user meets it: scripts/bundle writes it from the build, it is unpacked in a fresh
# folder, every program and library in it must resolve its libraries inside the bundle or from
# glibc, and gpu-check runs to the end on this machine's device with an emptied environment.
#   bundle_test.sh SOURCE_DIR BUILD_DIR WORK_DIR
set -euo pipefail
src="$1"
build="$2"
work="$3"
rm -rf "$work"
mkdir -p "$work/unpacked" "$work/home"
"$src/scripts/bundle" --build "$build" --out "$work/dist"
tar -xzf "$work"/dist/vkmnist-*-linux-x86_64.tar.gz -C "$work/unpacked"
root="$(echo "$work"/unpacked/vkmnist-*)"
cd "$root"

bad=0
while IFS= read -r f; do
  head -c 4 "$f" | grep -q ELF || continue
  while IFS= read -r line; do
    echo "bundle_test: $f: $line" >&2
    bad=1
  done < <(env -i ldd "$f" | awk -v root="$root" \
    '/not found/ {print; next}
     $2 == "=>" && index($3, root) != 1 && $1 !~ /^(libc|libm|libdl|libpthread|librt|libresolv)\.so/ {print "resolved outside the bundle: " $1 " " $3}')
done < <(find libexec lib -type f)
[[ $bad == 0 ]] || { echo "bundle_test: libraries resolve outside the bundle (above)" >&2; exit 1; }

env -i PATH=/usr/bin:/bin HOME="$work/home" ./gpu-check --out "$work/out"
for f in gpu-check.log devices.txt gpu-tests.json vkbench.json compare.md; do
  [[ -s "$work/out/$f" ]] || { echo "bundle_test: gpu-check wrote no $f" >&2; exit 1; }
done
python3 - "$work/out/gpu-tests.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["tests"] >= 100 and d["failures"] == 0 and d["errors"] == 0, d
print(f"bundle_test: gpu-check ran {d['tests']} GPU tests, none failed")
PY
