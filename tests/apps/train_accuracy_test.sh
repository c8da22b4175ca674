#!/bin/sh
# train_accuracy_test.sh VKMNIST DATA_DIR: a short end-to-end training run on a subset of MNIST
# (6,000 training images, 2 epochs, batch 64) must reach at least 93% on 1,000 test images
# (95.8% measured on lavapipe; the margin absorbs other devices' rounding). Proves the whole
# pipeline — gather, augmentation, forward, backward, update, evaluation — learns.
set -eu
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$1" --norm bn --l1 1e-5 --data "$2" --train-limit 6000 --test-limit 1000 --epochs 2 --batch-size 64 \
  --lr 0.1 --json --out "$work/run" > "$work/out.jsonl"
cat "$work/out.jsonl"
python3 - "$work/out.jsonl" <<'PY'
import json, sys
last = [json.loads(l) for l in open(sys.argv[1]) if l.strip()][-1]
if last["epoch"] != 2 or last["test_accuracy"] < 93.0:
    sys.exit(f"train_accuracy_test: test accuracy {last['test_accuracy']:.2f}% after epoch {last['epoch']} (need >= 93%)")
print(f"train_accuracy_test: {last['test_accuracy']:.2f}% >= 93%")
PY
