#!/usr/bin/env bash
# progress_check.sh VKMNIST DATA_DIR WORK_DIR: a short run on a 60-column terminal (a pty from
# script(1)): the pipeline-building line appears, and every redraw of the progress bar fits in 59
# columns (so it never wraps) and shows the time left.
set -euo pipefail
vkmnist="$1"
data="$2"
work="$3"
rm -rf "$work"
mkdir -p "$work"
script -qec "stty cols 60; '$vkmnist' --norm gn --epochs 1 --train-limit 3000 --test-limit 200 \
  --data '$data' --out '$work/run'" /dev/null >"$work/terminal.txt" 2>&1
python3 - "$work/terminal.txt" <<'PY'
import re, sys
text = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
lines = [re.sub(r"\x1b\[K", "", p) for p in re.split(r"[\r\n]", text) if p.strip()]
if not any(re.fullmatch(r"built \d+ compute pipelines in [0-9.]+ s", l) for l in lines):
    sys.exit("progress_check: no 'built N compute pipelines' line")
bars = [l for l in lines if l.startswith("epoch 1/1 [")]
if not bars:
    sys.exit("progress_check: no progress bar drawn")
for bar in bars:
    if len(bar) > 59:
        sys.exit(f"progress_check: a {len(bar)}-column redraw on a 60-column terminal: {bar!r}")
if not any("left" in bar for bar in bars):
    sys.exit("progress_check: the bar never showed the time left")
print(f"progress_check: {len(bars)} redraws, the widest {max(map(len, bars))} columns")
PY
