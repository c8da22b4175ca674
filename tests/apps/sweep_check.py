#!/usr/bin/env python3
"""sweep_check.py VKMNIST DATA_DIR: runs a small `vkmnist sweep` (2 norms x 2 batch sizes x 2
seeds, one epoch each on a subset), stopped after its first runs and resumed, and checks what it
wrote: one run folder per variant and seed, sweep.csv with one row per variant whose means and
standard deviations are the runs' own (recomputed here from each run's metrics.csv), sweep.md
with the table and a finding, sweep.png a real figure; that the learning rate scaled with the
batch size; that the resumed sweep is byte for byte an uninterrupted one (every run's files, and
sweep.csv but for its seconds); and that a finished sweep refuses to be overwritten."""
import csv
import filecmp
import math
import os
import re
import subprocess
import sys
import tempfile

from png_info import png
from recipe import default_lr


def fail(message):
    sys.exit(f"sweep_check: {message}")


def png_ok(path):
    width, height, distinct = png(path)
    if width < 500 or height < 300 or distinct < 8:
        fail(f"{path}: {width}x{height}, looks blank")


def test_accuracies(run_folder):
    """(best, epoch of best, final) test accuracy of a run, from its metrics.csv."""
    with open(os.path.join(run_folder, "metrics.csv")) as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "test"]
    if not rows:
        fail(f"{run_folder}: no test rows in metrics.csv")
    accuracies = [float(r["accuracy"]) for r in rows]
    best = max(accuracies)
    return best, int(rows[accuracies.index(best)]["epoch"]), accuracies[-1]


def without_seconds(path):
    """A CSV's rows without its timing column (seconds, seconds_per_epoch_mean)."""
    with open(path) as f:
        rows = list(csv.reader(f))
    drop = [i for i, name in enumerate(rows[0]) if name.startswith("seconds")]
    return [[v for i, v in enumerate(r) if i not in drop] for r in rows]


def mean_sd(values):
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def main():
    vkmnist, data = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as work:
        out = os.path.join(work, "sweep")
        grid = ["--norm", "bn,gn", "--batch-size", "32,64", "--seeds", "2", "--epochs", "2",
                "--data", data, "--train-limit", "600", "--test-limit", "300", "--quiet"]
        # Stopped after the first epoch of the first run: no table yet, a hint to resume.
        first = subprocess.run([vkmnist, "sweep", *grid, "--out", out, "--stop-after", "1"],
                               capture_output=True, text=True)
        if first.returncode != 0:
            fail(f"the first part exited {first.returncode}: {first.stdout}{first.stderr}")
        if os.path.exists(os.path.join(out, "sweep.md")):
            fail("a stopped sweep wrote sweep.md")
        if "vkmnist sweep --resume" not in first.stdout:
            fail(f"no resume hint after a stop: {first.stdout}")
        # The stopped run points to the sweep, not to its own folder.
        if "continue with: vkmnist sweep --resume" not in first.stderr or \
                "vkmnist --resume" in first.stderr:
            fail(f"the stopped run's hint should resume the sweep: {first.stderr}")
        # Starting it again over the folder is refused, with the way to go on.
        again = subprocess.run([vkmnist, "sweep", *grid, "--out", out], capture_output=True,
                               text=True)
        if again.returncode == 0 or "--resume" not in again.stderr:
            fail(f"a second sweep over the folder was not refused: {again.stderr}")
        done = subprocess.run([vkmnist, "sweep", "--resume", out, "--quiet"], capture_output=True,
                              text=True)
        if done.returncode != 0:
            fail(f"--resume exited {done.returncode}: {done.stdout}{done.stderr}")
        # A progress line per run; from the second trained run on, with the time left.
        progress = [line for line in done.stdout.splitlines() if ": training" in line]
        if len(progress) != 8 or not progress[0].startswith("[1/8] bn_l1-0_l2-0_b32 seed 1: "
                                                              "training from epoch 2"):
            fail(f"the resumed sweep should train 8 runs, the first from epoch 2: {progress}")
        if "left for the sweep" in progress[0] or \
                not all(re.search(r"\(about \d+ (s|min) left for the sweep\)$", p) for p in progress[1:]):
            fail(f"the progress lines should estimate the time left from the second run on: {progress}")
        for name in ("sweep.csv", "sweep.md", "sweep.png", "sweep.json"):
            if not os.path.exists(os.path.join(out, name)):
                fail(f"{name} missing")
        png_ok(os.path.join(out, "sweep.png"))

        with open(os.path.join(out, "sweep.csv")) as f:
            rows = list(csv.DictReader(f))
        variants = {(r["norm"], int(r["batch_size"])): r for r in rows}
        if sorted(variants) != [("bn", 32), ("bn", 64), ("gn", 32), ("gn", 64)]:
            fail(f"sweep.csv variants: {sorted(variants)}")
        for (norm, batch), row in variants.items():
            if abs(float(row["lr"]) - default_lr(norm, batch)) > 1e-9:
                fail(f"{norm} batch {batch}: lr {row['lr']}, not the recipe's scaled to batch {batch}")
            folder = os.path.join(out, f"{norm}_l1-0_l2-0_b{batch}")
            runs = [test_accuracies(os.path.join(folder, f"seed-{s}")) for s in (1, 2)]
            best = mean_sd([r[0] for r in runs])
            final = mean_sd([r[2] for r in runs])
            for key, (mean, sd) in (("best_test_accuracy", best), ("final_test_accuracy", final)):
                if abs(float(row[key + "_mean"]) - mean) > 1e-3 or \
                        abs(float(row[key + "_sd"]) - sd) > 1e-3:
                    fail(f"{norm} batch {batch} {key}: {row[key + '_mean']} ± {row[key + '_sd']}, "
                         f"the runs give {mean:.4f} ± {sd:.4f}")
            if int(row["seeds"]) != 2:
                fail(f"{norm} batch {batch}: {row['seeds']} seeds")
        with open(os.path.join(out, "sweep.md")) as f:
            md = f.read()
        for expected in ("| bn | 0 | 0 | 32 |", "| gn | 0 | 0 | 64 |", "±", "The best variant",
                         "sweep.png", "A subset"):
            if expected not in md:
                fail(f"sweep.md lacks {expected!r}")
        # The same sweep never interrupted: the same bytes, the seconds aside.
        straight = os.path.join(work, "straight")
        subprocess.run([vkmnist, "sweep", *grid, "--out", straight], check=True, capture_output=True)
        for (norm, batch) in variants:
            for seed in (1, 2):
                run = os.path.join(f"{norm}_l1-0_l2-0_b{batch}", f"seed-{seed}")
                for name in ("model.safetensors", "optimizer.safetensors", "best.safetensors",
                             "predictions.csv"):
                    if not filecmp.cmp(os.path.join(out, run, name), os.path.join(straight, run, name),
                                       shallow=False):
                        fail(f"{run}/{name} of the resumed sweep differs from the uninterrupted one")
                if without_seconds(os.path.join(out, run, "metrics.csv")) != \
                        without_seconds(os.path.join(straight, run, "metrics.csv")):
                    fail(f"{run}/metrics.csv of the resumed sweep differs from the uninterrupted one")
        if without_seconds(os.path.join(out, "sweep.csv")) != without_seconds(os.path.join(straight, "sweep.csv")):
            fail("sweep.csv of the resumed sweep differs from the uninterrupted one")
        finished = subprocess.run([vkmnist, "sweep", "--resume", out], capture_output=True,
                                  text=True)
        if finished.returncode == 0 or "finished sweep" not in finished.stderr:
            fail(f"a finished sweep was not refused: {finished.stderr}")
    print("sweep_check: ok")


if __name__ == "__main__":
    main()
