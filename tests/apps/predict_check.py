#!/usr/bin/env python3
"""vkmnist predict on PNGs this test draws itself from MNIST test digits: as they are (28x28, light
on black), on paper (dark on white, 3x larger), in colour on a wider canvas off centre, and as
ink on a transparent canvas (grey + alpha). Every image must come back as its digit with the
study's BN checkpoint, predictions.csv must hold the same with ten probabilities summing to 1,
and a file that is not a PNG is refused by name.

usage: predict_check.py VKMNIST MODEL_DIR MNIST_DIR WORK_DIR"""
import csv
import gzip
import json
import os
import struct
import subprocess
import sys
import zlib

vkmnist, model, mnist, work = sys.argv[1:5]
os.makedirs(work, exist_ok=True)


def fail(message):
    print(f"predict_check: {message}", file=sys.stderr)
    sys.exit(1)


def read_idx(name):
    path = os.path.join(mnist, name)
    opener = open if os.path.exists(path) else gzip.open
    with opener(path if os.path.exists(path) else path + ".gz", "rb") as f:
        return f.read()


images = read_idx("t10k-images-idx3-ubyte")
labels = read_idx("t10k-labels-idx1-ubyte")
count, rows, cols = struct.unpack(">III", images[4:16])
if (rows, cols) != (28, 28):
    fail(f"unexpected image size {rows}x{cols}")


def digit(i):
    start = 16 + i * 784
    return [list(images[start + r * 28:start + r * 28 + 28]) for r in range(28)]


def write_png(path, pixels, channels):
    """pixels: rows of flat channel values; channels 1 (grey), 2 (grey+alpha) or 3 (RGB)."""
    height, width = len(pixels), len(pixels[0]) // channels
    colour_type = {1: 0, 2: 4, 3: 2}[channels]
    raw = b"".join(b"\x00" + bytes(row) for row in pixels)

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw)))
        f.write(chunk(b"IEND", b""))


def scaled(d, k):
    return [[v for v in row for _ in range(k)] for row in d for _ in range(k)]


cases = []  # (file, expected digit)
for i in range(10):
    d, label = digit(i), labels[8 + i]
    plain = os.path.join(work, f"d{i}_plain.png")
    write_png(plain, d, 1)
    paper = os.path.join(work, f"d{i}_paper.png")
    write_png(paper, [[255 - v for v in row] for row in scaled(d, 3)], 1)
    colour = os.path.join(work, f"d{i}_colour.png")
    big = scaled(d, 2)  # 56x56 on a 90x64 canvas, 20 px from the left, 5 from the top
    canvas = [[(250, 240, 200)] * 90 for _ in range(64)]
    for r in range(56):
        for c in range(56):
            a = big[r][c] / 255.0  # ink: dark blue over light yellow
            canvas[5 + r][20 + c] = tuple(round(bg * (1 - a) + ink * a)
                                          for bg, ink in zip((250, 240, 200), (20, 30, 120)))
    write_png(colour, [[v for px in row for v in px] for row in canvas], 3)
    alpha = os.path.join(work, f"d{i}_alpha.png")
    write_png(alpha, [[v for px in row for v in (0, px)] for row in scaled(d, 2)], 2)
    cases += [(plain, label), (paper, label), (colour, label), (alpha, label)]

out_csv = os.path.join(work, "predictions.csv")
run = subprocess.run([vkmnist, "predict", "--model", model, "--out", out_csv, "--json"]
                     + [f for f, _ in cases], capture_output=True, text=True)
if run.returncode != 0:
    fail(f"predict failed: {run.stderr}")
results = json.loads(run.stdout)
wrong = [(r["file"], r["predicted"], want) for r, (_, want) in zip(results, cases)
         if r["predicted"] != want]
if wrong:
    fail(f"wrong classes (file, got, expected): {wrong}")
for r, (_, want) in zip(results, cases):
    p = r["probabilities"]
    if abs(sum(p) - 1.0) > 1e-4 or max(range(10), key=lambda c: p[c]) != want:
        fail(f"{r['file']}: probabilities {p}")
with open(out_csv) as f:
    rows = list(csv.DictReader(f))
if [int(r["predicted"]) for r in rows] != [want for _, want in cases]:
    fail(f"predictions.csv disagrees: {rows[:3]}")
if any(abs(sum(float(r[f"p{c}"]) for c in range(10)) - 1.0) > 1e-4 for r in rows):
    fail("predictions.csv: probabilities do not sum to 1")

bogus = os.path.join(work, "not_a_png.png")
with open(bogus, "w") as f:
    f.write("hello")
run = subprocess.run([vkmnist, "predict", "--model", model, bogus], capture_output=True, text=True)
if run.returncode == 0 or "not_a_png.png" not in run.stderr:
    fail(f"a file that is not a PNG: rc {run.returncode}, {run.stderr!r}")
print(f"predict_check: {len(cases)} images, all classified as their digit")
