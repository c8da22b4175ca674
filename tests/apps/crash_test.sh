#!/usr/bin/env bash
# Crash consistency of the run folder: a run stopped at every write point (VKMNIST_TEST_STOP_AT,
# apps/vkmnist/run_folder.hpp: the process ends there as a kill would) must resume to bitwise the
# same checkpoint as an uninterrupted run, and leave nothing behind.
#   crash_test.sh VKMNIST DATA_DIR WORK_DIR
set -euo pipefail
vkmnist="$1"
data="$2"
work="$3"
rm -rf "$work"
mkdir -p "$work"
opts=(--norm gn --epochs 2 --batch-size 64 --train-limit 512 --test-limit 128 --seed 7
      --data "$data" --quiet)

"$vkmnist" "${opts[@]}" --out "$work/uninterrupted" >/dev/null

points=(run.json summary)
for epoch in 1 2; do
  for p in predictions metrics optimizer model committed replaced1 replaced2 done; do
    points+=("$p@$epoch")
  done
done

failures=0
for point in "${points[@]}"; do
  folder="$work/stopped-${point/@/-}"
  set +e
  VKMNIST_TEST_STOP_AT="$point" "$vkmnist" "${opts[@]}" --out "$folder" >/dev/null 2>&1
  rc=$?
  set -e
  if [[ $rc -ne 75 ]]; then
    echo "crash_test: $point: the run did not stop there (exit $rc)" >&2
    failures=$((failures + 1))
    continue
  fi
  set +e
  out="$("$vkmnist" --resume "$folder" --quiet 2>&1)"
  rc=$?
  set -e
  # A run stopped after committing its last epoch is complete: --resume says so.
  if [[ $rc -ne 0 ]] && ! grep -q "already completed all 2 epochs" <<<"$out"; then
    echo "crash_test: $point: --resume failed (exit $rc): $out" >&2
    failures=$((failures + 1))
    continue
  fi
  for f in model.safetensors optimizer.safetensors predictions.csv; do
    if ! cmp -s "$folder/$f" "$work/uninterrupted/$f"; then
      echo "crash_test: $point: $f differs from the uninterrupted run's" >&2
      failures=$((failures + 1))
    fi
  done
  left="$(find "$folder" -name '*.next' -o -name 'checkpoint.commit' -o -name '*.tmp*')"
  if [[ -n "$left" ]]; then
    echo "crash_test: $point: left behind: $left" >&2
    failures=$((failures + 1))
  fi
done
# A run from --init stopped before its first checkpoint restarts from the same initial weights.
init_opts=("${opts[@]}" --init "$work/uninterrupted/model.safetensors")
"$vkmnist" "${init_opts[@]}" --out "$work/init-uninterrupted" >/dev/null
set +e
VKMNIST_TEST_STOP_AT=metrics@1 "$vkmnist" "${init_opts[@]}" --out "$work/init-stopped" >/dev/null 2>&1
rc=$?
set -e
if [[ $rc -ne 75 ]] || ! "$vkmnist" --resume "$work/init-stopped" --quiet >/dev/null ||
   ! cmp -s "$work/init-stopped/model.safetensors" "$work/init-uninterrupted/model.safetensors"; then
  echo "crash_test: a run from --init stopped before its first checkpoint did not restart from it" >&2
  failures=$((failures + 1))
fi

if [[ $failures -gt 0 ]]; then
  echo "crash_test: $failures failures over ${#points[@]} stop points" >&2
  exit 1
fi
echo "crash_test: stopped at ${#points[@]} write points, each resumed to the uninterrupted run's checkpoint"
