#!/usr/bin/env python3
"""compare_check.py VKMNIST DATA_DIR [--seeds]: runs a short `vkmnist compare`, interrupted and
resumed (its models bitwise equal to an uninterrupted study's), and checks the study folder:
every figure exists as a PNG of sane size that is not blank, every link in report.md resolves,
and the tables hold the three models. With --seeds: a two-seed study, interrupted and resumed,
whose means, standard deviations and seed findings are recomputed from its six runs' files."""
import csv
import filecmp
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

from png_info import png
from recipe import default_batch, default_l2, default_lr


def wrong_images(folder):
    """The indices of the test images a run's final model gets wrong (its predictions.csv)."""
    with open(os.path.join(folder, "predictions.csv")) as f:
        rows = list(csv.DictReader(f))
    return {int(r["index"]) for r in rows if r["predicted"] != r["label"]}


def check_findings(out, report):
    """report.md's findings section: its overlap figures recomputed from the runs' predictions."""
    if "## Findings (computed from the numbers above)" not in report:
        sys.exit("compare_check: report.md has no findings section")
    for needed in ("**Best final model:", "**Train–test gap at the last epoch**",
                   "most-confused digits**", "**The models' mistakes overlap**"):
        if needed not in report:
            sys.exit(f"compare_check: the findings lack {needed!r}")
    wrong = {key: wrong_images(os.path.join(out, key)) for key in ("bn", "ln", "gn")}
    for a, b in (("bn", "ln"), ("bn", "gn"), ("ln", "gn")):
        both, either = len(wrong[a] & wrong[b]), len(wrong[a] | wrong[b])
        if f"{a} and {b}: {both} shared of {either} " not in report:
            sys.exit(f"compare_check: the findings should say {a} and {b} share {both} of {either} "
                     f"misclassified images")
    common = len(wrong["bn"] & wrong["ln"] & wrong["gn"])
    if f"All 3 models get the same {common} test image" not in report:
        sys.exit(f"compare_check: the findings should count {common} images every model gets wrong")


def test_accuracies(folder):
    """(best, final) test accuracy of a run, from its metrics.csv."""
    with open(os.path.join(folder, "metrics.csv")) as f:
        test = [float(r["accuracy"]) for r in csv.DictReader(f) if r["split"] == "test"]
    return max(test), test[-1]


def check_seeds(vkmnist, data):
    """compare --seeds 2: the layout, --resume, and the seeds' table and findings."""
    with tempfile.TemporaryDirectory() as work:
        out = os.path.join(work, "study")
        options = ["--data", data, "--train-limit", "1000", "--test-limit", "300", "--epochs", "2",
                   "--batch-size", "64", "--quiet", "--seed", "5"]
        # --lr and --l2 given: every model trains with them, and the resumed study keeps them
        # for its later models too (study.json).
        subprocess.run([vkmnist, "compare", *options, "--seeds", "2", "--lr", "0.07", "--l2", "2e-4",
                        "--out", out, "--stop-after", "1"], check=True)
        with open(os.path.join(out, "study.json")) as f:
            record = json.load(f)
        if record != {"seeds": 2, "lr": 0.07, "l2": 2e-4, "batch_size": 64}:
            sys.exit(f"compare_check: study.json should record 2 seeds, lr 0.07, l2 2e-4 and batch 64: {record}")
        folders = {"bn": 5, "ln": 5, "gn": 5, "bn-seed-6": 6, "ln-seed-6": 6, "gn-seed-6": 6}
        for name, seed in folders.items():
            with open(os.path.join(out, name, "run.json")) as f:
                if json.load(f)["options"]["seed"] != seed:
                    sys.exit(f"compare_check: {name} should train with seed {seed}")
        if os.path.exists(os.path.join(out, "report.md")):
            sys.exit("compare_check: a two-seed study stopped after epoch 1 of 2 wrote report.md")
        refused = subprocess.run([vkmnist, "compare", "--resume", out, "--seeds", "3"], capture_output=True, text=True)
        if refused.returncode == 0 or "--seeds cannot be given with --resume" not in refused.stderr:
            sys.exit(f"compare_check: --seeds with --resume should be refused: {refused.stderr}")
        # The second seed's GN as if the study had stopped before it began: made from study.json.
        shutil.rmtree(os.path.join(out, "gn-seed-6"))
        subprocess.run([vkmnist, "compare", "--quiet", "--resume", out], check=True)
        for name in folders:
            with open(os.path.join(out, name, "run.json")) as f:
                given = json.load(f)["options"]
            if (given["lr"], given["l2"], given["batch_size"]) != (0.07, 2e-4, 64):
                sys.exit(f"compare_check: {name} trained with lr {given['lr']}, l2 {given['l2']} and batch "
                         f"{given['batch_size']}, not the study's --lr 0.07 --l2 2e-4 --batch-size 64")
        report = open(os.path.join(out, "report.md")).read()
        if ("--batch-size 64" not in report or "--lr 0.07 --l2 0.0002" not in report
                or "only the normalization" not in report):
            sys.exit("compare_check: report.md should give the command's --batch-size, --lr and --l2, one for all models")
        if "--seeds 2" not in report or "mean ± sd of 2 seeds" not in report:
            sys.exit("compare_check: report.md should give the command's --seeds 2 and the seeds' columns")
        with open(os.path.join(out, "results.csv")) as f:
            rows = {r["norm"]: r for r in csv.DictReader(f)}
        finals = {}
        for norm in ("bn", "ln", "gn"):
            runs = [test_accuracies(os.path.join(out, norm)), test_accuracies(os.path.join(out, f"{norm}-seed-6"))]
            row = rows[norm]
            for column, values in (("best_test_accuracy", [b for b, _ in runs]),
                                   ("final_test_accuracy", [f for _, f in runs])):
                mean, sd = statistics.mean(values), statistics.stdev(values)
                if (abs(float(row[column + "_mean"]) - mean) > 1e-3 or abs(float(row[column + "_sd"]) - sd) > 1e-3
                        or row["seeds"] != "2"):
                    sys.exit(f"compare_check: results.csv {norm} {column}: {row[column + '_mean']} ± "
                             f"{row[column + '_sd']}, the runs give {mean:.4f} ± {sd:.4f}")
            finals[norm] = [f for _, f in runs]
        # The best-model finding: the best two by mean final accuracy, judged against 2 sd.
        ranked = sorted(finals, key=lambda n: -statistics.mean(finals[n]))
        a, b = ranked[0], ranked[1]
        lead = statistics.mean(finals[a]) - statistics.mean(finals[b])
        noise = max(statistics.stdev(finals[a]), statistics.stdev(finals[b]))
        finding = re.search(r"\*\*Best final model over 2 seeds: ([^*]+)\*\* at ([0-9.]+) ± .*? That lead is "
                            r"(more than|within) twice the larger standard deviation over seeds \(([0-9.]+)\)", report)
        if not finding:
            sys.exit("compare_check: the findings lack the best model over 2 seeds")
        if abs(float(finding.group(2)) - statistics.mean(finals[a])) > 0.006 and lead > 0.01:
            sys.exit(f"compare_check: the best model's mean should be {statistics.mean(finals[a]):.2f}: {finding.group(0)}")
        if abs(float(finding.group(4)) - noise) > 0.006:
            sys.exit(f"compare_check: the larger sd should be {noise:.2f}: {finding.group(0)}")
        if abs(lead - 2 * noise) > 0.01 and finding.group(3) != ("more than" if lead > 2 * noise else "within"):
            sys.exit(f"compare_check: a lead of {lead:.3f} against 2 x {noise:.3f} is judged wrongly: {finding.group(0)}")
        for norm in ("bn", "ln", "gn"):
            first, second = wrong_images(os.path.join(out, norm)), wrong_images(os.path.join(out, f"{norm}-seed-6"))
            both, either = len(first & second), len(first | second)
            if f"{norm}: {both} shared of {either} " not in report:
                sys.exit(f"compare_check: the findings should say {norm}'s two seeds share {both} of {either} mistakes")
    print("compare_check: the two-seed study's table and findings agree with its runs")


def main():
    vkmnist, data = sys.argv[1], sys.argv[2]
    if sys.argv[3:] == ["--seeds"]:
        check_seeds(vkmnist, data)
        return
    with tempfile.TemporaryDirectory() as work:
        out = os.path.join(work, "study")
        # No --batch-size, --lr or --l2: each model takes its norm's recipe (gn at batch 16).
        options = ["--data", data, "--train-limit", "1500", "--test-limit", "400", "--epochs", "2",
                   "--quiet"]
        # The study interrupted after the first of two epochs of every model: no report yet.
        subprocess.run([vkmnist, "compare", *options, "--out", out, "--stop-after", "1"], check=True)
        if os.path.exists(os.path.join(out, "report.md")):
            sys.exit("compare_check: a study stopped after epoch 1 of 2 wrote report.md")
        again = subprocess.run([vkmnist, "compare", *options, "--out", out], capture_output=True, text=True)
        if again.returncode == 0 or "--resume" not in again.stderr:
            sys.exit(f"compare_check: a second compare into the same folder should point to --resume: {again.stderr}")
        ignored = subprocess.run([vkmnist, "compare", "--resume", out, "--epochs", "5"], capture_output=True, text=True)
        if ignored.returncode == 0 or "--epochs cannot be given with --resume" not in ignored.stderr:
            sys.exit(f"compare_check: --epochs with --resume should be refused: {ignored.stderr}")
        # BN finished on its own (read back by the resumed study), LN resumed by the study, GN as
        # if the study had stopped before it began.
        subprocess.run([vkmnist, "train", "--quiet", "--resume", os.path.join(out, "bn")], check=True)
        shutil.rmtree(os.path.join(out, "gn"))
        resumed = subprocess.run([vkmnist, "compare", "--quiet", "--resume", out], check=True,
                                 capture_output=True, text=True).stdout
        print(resumed)
        if "bn: all 2 epochs done" not in resumed:
            sys.exit("compare_check: the resumed study did not read back the finished BN run")
        # Bitwise the same models as a study that was never interrupted.
        # Not quiet, both streams into one pipe as `2>&1 | tee` makes them: the lines in the order
        # they were printed (stdout is line-buffered even when it is a pipe).
        straight = os.path.join(work, "straight")
        log = subprocess.run([vkmnist, "compare", *[o for o in options if o != "--quiet"], "--out", straight],
                             check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
        order = ["== BatchNorm", "vkmnist: BatchNorm on", "/straight/bn\n", "== LayerNorm",
                 "vkmnist: LayerNorm on", "/straight/ln\n", "== GroupNorm", "study written"]
        at = [log.find(line) for line in order]
        if -1 in at or at != sorted(at):
            sys.exit(f"compare_check: under 2>&1 the lines come out of order ({order}):\n{log}")
        for key in ("bn", "ln", "gn"):
            epochs = [line.split(",")[0] for line in open(os.path.join(out, key, "metrics.csv")).read().splitlines()[1:]]
            if epochs != ["1", "1", "2", "2"]:
                sys.exit(f"compare_check: {key}/metrics.csv after --resume has epochs {epochs}")
            for name in ("model.safetensors", "optimizer.safetensors", "predictions.csv"):
                if not filecmp.cmp(os.path.join(out, key, name), os.path.join(straight, key, name), shallow=False):
                    sys.exit(f"compare_check: {key}/{name} of the resumed study differs from the uninterrupted one")
        for name, (min_w, min_h) in {"curves.png": (800, 600), "misclassified_bn.png": (500, 300),
                                     "misclassified_ln.png": (500, 300), "misclassified_gn.png": (500, 300)}.items():
            w, h, distinct = png(os.path.join(out, name))
            if w < min_w or h < min_h:
                sys.exit(f"compare_check: {name} is {w}x{h}")
            if distinct < 16:
                sys.exit(f"compare_check: {name} looks blank ({distinct} distinct byte values)")
        report = open(os.path.join(out, "report.md")).read()
        # A study on a subset of the data says so.
        if "Data: 1500 training and 400 test images. **A subset of MNIST**" not in report:
            sys.exit("compare_check: report.md does not say the study used a subset")
        links = re.findall(r"\]\(([^)]+)\)", report)
        if len(links) < 10:
            sys.exit(f"compare_check: report.md has only {len(links)} links")
        for link in links:
            if not os.path.exists(os.path.join(out, link)):
                sys.exit(f"compare_check: report.md links to missing {link}")
        # Without --batch-size, --lr and --l2 each model trains with its norm's recipe, and the
        # tables say so.
        with open(os.path.join(out, "results.csv")) as f:
            rows = {r["norm"]: r for r in csv.DictReader(f)}
        for key in ("bn", "ln", "gn"):
            with open(os.path.join(out, key, "run.json")) as f:
                given = json.load(f)["options"]
            batch = default_batch(key)
            want = (default_lr(key, batch), default_l2(key))
            if (given["batch_size"] != batch or abs(given["lr"] - want[0]) > 1e-12
                    or abs(given["l2"] - want[1]) > 1e-12):
                sys.exit(f"compare_check: {key} trained at batch {given['batch_size']} with lr {given['lr']}, "
                         f"l2 {given['l2']}; its recipe is batch {batch}, lr and l2 {want}")
            if (abs(float(rows[key]["lr"]) - want[0]) > 1e-9 or abs(float(rows[key]["l2"]) - want[1]) > 1e-12
                    or rows[key]["batch_size"] != str(batch)):
                sys.exit(f"compare_check: results.csv gives {key} lr {rows[key]['lr']}, l2 {rows[key]['l2']}, "
                         f"batch {rows[key]['batch_size']}")
        with open(os.path.join(out, "study.json")) as f:
            record = json.load(f)
        if record != {"seeds": 1, "lr": None, "l2": None, "batch_size": None}:
            sys.exit(f"compare_check: study.json should leave batch, lr and l2 to the recipes: {record}")
        if "--lr" in report or "--batch-size" in report or "own recipe" not in report:
            sys.exit("compare_check: report.md should say each model has its own recipe, and give no --lr or --batch-size")
        results = open(os.path.join(out, "results.csv")).read().splitlines()
        if len(results) != 4 or not all(any(k in r for r in results) for k in (",bn,", ",ln,", ",gn,")):
            sys.exit("compare_check: results.csv should hold bn, ln and gn")
        for key in ("bn", "ln", "gn"):
            rows = open(os.path.join(out, f"confusion_{key}.csv")).read().splitlines()
            total = sum(int(v) for r in rows[1:] for v in r.split(",")[1:])
            if len(rows) != 11 or total != 400:
                sys.exit(f"compare_check: confusion_{key}.csv should count 400 test images, counts {total}")
        check_findings(out, report)
    print("compare_check: figures, tables and report.md are complete")


if __name__ == "__main__":
    main()
