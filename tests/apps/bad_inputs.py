#!/usr/bin/env python3
"""bad_inputs.py VKMNIST MNIST_DIR [--write FILE]: the table of bad inputs (docs/reliability.md).

Runs every case below — options, data files, output folders, --resume, --init, the other
commands, the environment — and requires of each a non-zero exit, nothing on stdout that claims
success, and exactly one line on stderr starting "vkmnist: ". The messages, with this run's
temporary folder written <tmp> and the MNIST folder <mnist>, must be the ones
docs/reliability.md records: a changed message fails the test until the table is rewritten with
--write FILE (then read the new messages: none may be unclear)."""
import difflib
import gzip
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

vkmnist, mnist = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
write_to = sys.argv[4] if sys.argv[3:4] == ["--write"] else None
doc = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "reliability.md")

W = tempfile.mkdtemp(prefix="bad-inputs-")
REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DIGITS = os.path.join(REPO, "docs", "study", "misclassified_bn.png")  # a real PNG


def read_idx(name):
    path = os.path.join(mnist, name)
    if os.path.exists(path):
        return open(path, "rb").read()
    return gzip.open(path + ".gz", "rb").read()


def idx_images(count, pixels, rows=28, cols=28, magic=0x803, declared=None):
    return struct.pack(">IIII", magic, declared if declared is not None else count, rows, cols) + pixels


def idx_labels(labels, magic=0x801, declared=None):
    return struct.pack(">II", magic, declared if declared is not None else len(labels)) + bytes(labels)


# A small valid data set (the first 256 training and 128 test images of MNIST), raw IDX.
train_images = read_idx("train-images-idx3-ubyte")[16:16 + 256 * 784]
train_labels = read_idx("train-labels-idx1-ubyte")[8:8 + 256]
test_images = read_idx("t10k-images-idx3-ubyte")[16:16 + 128 * 784]
test_labels = read_idx("t10k-labels-idx1-ubyte")[8:8 + 128]
FILES = {
    "train-images-idx3-ubyte": idx_images(256, train_images),
    "train-labels-idx1-ubyte": idx_labels(train_labels),
    "t10k-images-idx3-ubyte": idx_images(128, test_images),
    "t10k-labels-idx1-ubyte": idx_labels(test_labels),
}


def data_set(name, replace=None, drop=(), gz=()):
    """A data folder: the small set with some files replaced (raw bytes), dropped or gzipped."""
    folder = os.path.join(W, name)
    os.makedirs(folder)
    for file, content in FILES.items():
        if file in drop:
            continue
        content = (replace or {}).get(file, content)
        if file in gz:
            with open(os.path.join(folder, file + ".gz"), "wb") as f:
                f.write(content)
        else:
            with open(os.path.join(folder, file), "wb") as f:
                f.write(content)
    return folder


def gzipped(content):
    return gzip.compress(content, mtime=0)


SMALL = data_set("small")


def run(args, env=None, cwd=W):
    full_env = dict(os.environ)
    full_env["LP_NATIVE_VECTOR_WIDTH"] = "256"  # lavapipe's device name carries the width
    full_env.update(env or {})
    return subprocess.run([vkmnist, *args], capture_output=True, text=True, env=full_env, cwd=cwd,
                          timeout=300)


# A run stopped after the first of two epochs (GroupNorm, 2 groups): --resume and --init cases
# copy and edit it.
base = run(["--norm", "gn", "--groups", "2", "--data", SMALL, "--epochs", "2", "--stop-after", "1",
            "--batch-size", "64", "--quiet", "--out", os.path.join(W, "run")])
if base.returncode != 0:
    sys.exit(f"bad_inputs: the base run failed: {base.stderr}")
RUN = os.path.join(W, "run")
MODEL = os.path.join(RUN, "model.safetensors")


def copy_run(name, edit=None):
    dst = os.path.join(W, name)
    shutil.copytree(RUN, dst)
    if edit:
        edit(dst)
    return dst


def edit_json(key_path, value):
    def edit(folder):
        path = os.path.join(folder, "run.json")
        j = json.load(open(path))
        node = j
        for k in key_path[:-1]:
            node = node[k]
        if value is DELETE:
            del node[key_path[-1]]
        else:
            node[key_path[-1]] = value
        json.dump(j, open(path, "w"), indent=2)
    return edit


DELETE = object()


def write_text(file, text):
    def edit(folder):
        with open(os.path.join(folder, file), "w") as f:
            f.write(text)
    return edit


def remove(file):
    return lambda folder: os.remove(os.path.join(folder, file))


def safetensors_parts(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + n]), data[8 + n:]


def safetensors_with(name, header_edit=None, data_edit=None, raw=None):
    """A copy of the base run's model.safetensors with its header or data edited."""
    path = os.path.join(W, name)
    if raw is not None:
        open(path, "wb").write(raw)
        return path
    header, data = safetensors_parts(MODEL)
    if header_edit:
        header_edit(header)
    if data_edit:
        data = data_edit(data)
    text = json.dumps(header).encode()
    open(path, "wb").write(struct.pack("<Q", len(text)) + text + data)
    return path


def set_meta(key, value):
    def edit(header):
        header["__metadata__"][key] = value
    return edit


def png(name, content):
    path = os.path.join(W, name)
    open(path, "wb").write(content)
    return path


TRAIN = ["--data", SMALL, "--epochs", "1", "--quiet"]  # options of a quick run on good data


def out(name):
    return ["--out", os.path.join(W, name)]


# (area, what is wrong, arguments, environment); arguments may be built by fixtures above.
CASES = []


def case(area, what, args, env=None):
    CASES.append((area, what, args, env))


# --- The command line --------------------------------------------------------------------------
O = "The command line"
case(O, "unknown command", ["trian"])
case(O, "unknown command, nothing like one", ["bogus"])
case(O, "unknown option", ["--epoch", "1"])
case(O, "unknown option of another command", ["--seeds", "3"])
case(O, "an option without its value", ["--norm"])
case(O, "a switch given a value", ["--quiet=maybe"])
case(O, "a stray positional argument", ["train", "extra"])
case(O, "--norm unknown", ["--norm", "xn"])
case(O, "--norm empty", ["--norm", ""])
case(O, "--groups not dividing the channels", ["--norm", "gn", "--groups", "3"])
case(O, "--groups 16", ["--norm", "gn", "--groups", "16"])
case(O, "--groups 0", ["--norm", "gn", "--groups", "0"])
case(O, "--groups with BatchNorm", ["--norm", "bn", "--groups", "2", "--data", "/nonexistent"])
case(O, "--groups with LayerNorm", ["--norm", "ln", "--groups", "2", "--data", "/nonexistent"])
case(O, "--groups with InstanceNorm", ["--norm", "in", "--groups", "2", "--data", "/nonexistent"])
case(O, "--groups negative", ["--norm", "gn", "--groups", "-4"])
case(O, "--lr negative", ["--lr", "-0.1"])
case(O, "--lr zero", ["--lr", "0"])
case(O, "--lr not a number", ["--lr", "fast"])
case(O, "--lr beyond a float", ["--lr", "1e39", "--data", "/nonexistent"])
case(O, "--lr NaN", ["--lr", "nan", "--data", "/nonexistent"])
case(O, "--lr infinite", ["--lr", "inf", "--data", "/nonexistent"])
case(O, "--l1 negative", ["--l1", "-1e-5"])
case(O, "--l1 NaN", ["--l1", "nan", "--data", "/nonexistent"])
case(O, "--l1 beyond a float", ["--l1", "1e39", "--data", "/nonexistent"])
case(O, "--l2 negative", ["--l2", "-1"])
case(O, "--l2 beyond a float", ["--l2", "1e39", "--data", "/nonexistent"])
case(O, "--momentum 1", ["--momentum", "1"])
case(O, "--momentum negative", ["--momentum", "-0.5"])
case(O, "--dropout 1.5", ["--dropout", "1.5"])
case(O, "--dropout negative", ["--dropout", "-0.1"])
case(O, "--epochs 0", ["--epochs", "0"])
case(O, "--epochs negative", ["--epochs", "-1"])
case(O, "--epochs fractional", ["--epochs", "2.5"])
case(O, "--epochs beyond any run", ["--epochs", "100001"])
case(O, "--batch-size 0", ["--batch-size", "0"])
case(O, "--batch-size above the training set", ["--batch-size", "60001"])
case(O, "--batch-size not a number", ["--batch-size", "big"])
case(O, "--schedule unknown", ["--schedule", "cosine"])
case(O, "--augment unknown", ["--augment", "flip"])
case(O, "--shift past 8 pixels", ["--shift", "9"])
case(O, "--shift without the rotate augmentation", ["--augment", "none", "--shift", "2"])
case(O, "--label-smoothing past 1", ["--label-smoothing", "1.5"])
case(O, "--warmup of the whole run", ["--warmup", "1"])
case(O, "--warmup without the onecycle schedule", ["--schedule", "step", "--warmup", "0.2"])
case(O, "--seed negative", ["--seed", "-1"])
case(O, "--seed beyond 32 bits", ["--seed", "4294967296"])
case(O, "--train-limit negative", ["--train-limit", "-5"])
case(O, "--train-limit above the set", ["--data", SMALL, "--train-limit", "1000", "--quiet"] + out("tl"))
case(O, "--test-limit above the set", ["--data", SMALL, "--test-limit", "1000", "--quiet"] + out("tl2"))
case(O, "--stop-after negative", ["--stop-after", "-1"])
case(O, "--stop-after beyond --epochs", ["--epochs", "2", "--stop-after", "3", "--data", "/nonexistent"])
case(O, "--out empty", ["--out", "", "--data", "/nonexistent"])
case(O, "--quiet and --json together", ["--quiet", "--json", "--data", "/nonexistent"])
case(O, "--resume with an option it keeps", ["--resume", RUN, "--lr", "0.5"])
case(O, "--resume with --data holding no data", ["--resume", RUN, "--data", "/nonexistent"])
case(O, "--resume and --init together", ["--resume", RUN, "--init", MODEL])
case(O, "--device matching no device", ["--device", "nvidia", *TRAIN, *out("dev")])
case(O, "--device index out of range", ["--device", "7", *TRAIN, *out("dev2")])

# --- Data -------------------------------------------------------------------------------------
D = "Data"
case(D, "--data a folder that does not exist", ["--data", os.path.join(W, "nowhere"), "--quiet"])
case(D, "--data a file, not a folder", ["--data", os.path.join(SMALL, "train-images-idx3-ubyte"), "--quiet"])
case(D, "--data an empty folder", ["--data", data_set("empty", drop=tuple(FILES)), "--quiet"])
case(D, "the training images missing", ["--data", data_set("no-train", drop=("train-images-idx3-ubyte",)), "--quiet"])
case(D, "the test labels missing", ["--data", data_set("no-test-labels", drop=("t10k-labels-idx1-ubyte",)), "--quiet"])
case(D, "an empty images file", ["--data", data_set("empty-file", {"train-images-idx3-ubyte": b""}), "--quiet"])
case(D, "a header cut short", ["--data", data_set("short-header", {"train-images-idx3-ubyte": FILES["train-images-idx3-ubyte"][:10]}), "--quiet"])
case(D, "images and labels swapped", ["--data", data_set("swapped", {"train-images-idx3-ubyte": FILES["train-labels-idx1-ubyte"]}), "--quiet"])
case(D, "a file of another format (PNG)", ["--data", data_set("png", {"train-images-idx3-ubyte": b"\x89PNG\r\n\x1a\n" + bytes(100)}), "--quiet"])
case(D, "images cut short", ["--data", data_set("cut", {"train-images-idx3-ubyte": FILES["train-images-idx3-ubyte"][:50000]}), "--quiet"])
case(D, "labels cut short", ["--data", data_set("cut-labels", {"train-labels-idx1-ubyte": FILES["train-labels-idx1-ubyte"][:100]}), "--quiet"])
case(D, "trailing bytes after the images", ["--data", data_set("long", {"train-images-idx3-ubyte": FILES["train-images-idx3-ubyte"] + bytes(7)}), "--quiet"])
case(D, "more images than labels", ["--data", data_set("count", {"train-labels-idx1-ubyte": idx_labels(train_labels[:200])}), "--quiet"])
case(D, "a label of 12", ["--data", data_set("label12", {"train-labels-idx1-ubyte": idx_labels(bytes([12]) + train_labels[1:])}), "--quiet"])
case(D, "32x32 images", ["--data", data_set("32", {"train-images-idx3-ubyte": idx_images(256, bytes(256 * 1024), 32, 32)}), "--quiet"])
case(D, "a pixel count beyond 64 bits", ["--data", data_set("huge", {"train-images-idx3-ubyte": idx_images(4, b"", 2**31, 2**31)}), "--quiet"])
case(D, "zero images", ["--data", data_set("zero", {"train-images-idx3-ubyte": idx_images(0, b""), "train-labels-idx1-ubyte": idx_labels(b"")}), "--quiet"])
case(D, "a gzip that is not gzip", ["--data", data_set("notgz", {"train-images-idx3-ubyte": b"not gzip at all" * 10}, gz=("train-images-idx3-ubyte",)), "--quiet"])
gz = gzipped(FILES["train-images-idx3-ubyte"])
case(D, "a gzip cut short", ["--data", data_set("gzcut", {"train-images-idx3-ubyte": gz[:len(gz) // 2]}, gz=("train-images-idx3-ubyte",)), "--quiet"])
bad_crc = bytearray(gz)
bad_crc[-8] ^= 0xFF
case(D, "a gzip with a wrong CRC", ["--data", data_set("gzcrc", {"train-images-idx3-ubyte": bytes(bad_crc)}, gz=("train-images-idx3-ubyte",)), "--quiet"])
case(D, "a gzip holding too few bytes", ["--data", data_set("gzshort", {"train-images-idx3-ubyte": gzipped(FILES["train-images-idx3-ubyte"][:40000])}, gz=("train-images-idx3-ubyte",)), "--quiet"])
case(D, "test images of another size than training", ["--data", data_set("test32", {"t10k-images-idx3-ubyte": idx_images(128, bytes(128 * 1024), 32, 32)}), "--quiet"])
case(D, "eval on data without the test set", ["eval", "--model", RUN, "--data", data_set("eval-no-test", drop=("t10k-images-idx3-ubyte",))])

# --- Output folders ---------------------------------------------------------------------------
F = "Output folders"
open(os.path.join(W, "a-file"), "w").write("not a folder\n")
case(F, "--out an existing file", [*TRAIN, "--out", os.path.join(W, "a-file")])
case(F, "--out inside a file", [*TRAIN, "--out", os.path.join(W, "a-file", "run")])
case(F, "--out a folder holding a run", [*TRAIN, "--out", RUN])
case(F, "--out a folder holding run.json only", [*TRAIN, "--out", copy_run("json-only", lambda d: [os.remove(os.path.join(d, f)) for f in os.listdir(d) if f != "run.json"])])
case(F, "--out where nothing can be written", [*TRAIN, "--out", "/proc/vkmnist-run"])
case(F, "compare --out holding a study", ["compare", *TRAIN, "--out", copy_run("study-like", lambda d: os.makedirs(os.path.join(d, "bn")) or shutil.copy(os.path.join(d, "run.json"), os.path.join(d, "bn", "run.json")))])
case(F, "compare --out a finished study", ["compare", *TRAIN, "--out", copy_run("study-done", write_text("report.md", "# done\n"))])
case(F, "sweep --out holding a sweep", ["sweep", *TRAIN, "--out", copy_run("sweep-like", write_text("sweep.json", "{}"))])
case(F, "eval --confusion into a missing folder", ["eval", "--model", RUN, "--data", SMALL, "--confusion", os.path.join(W, "nowhere", "c.csv")])
case(F, "predict --out into a missing folder", ["predict", "--model", RUN, "--out", os.path.join(W, "nowhere", "p.csv"), DIGITS])

# --- --resume ---------------------------------------------------------------------------------
R = "Resuming a run (--resume)"
case(R, "a folder that does not exist", ["--resume", os.path.join(W, "nowhere")])
case(R, "a folder without run.json", ["--resume", copy_run("no-json", remove("run.json"))])
case(R, "run.json not JSON", ["--resume", copy_run("json-garbage", write_text("run.json", "{ not json"))])
case(R, "run.json an array", ["--resume", copy_run("json-array", write_text("run.json", "[1, 2]"))])
case(R, "run.json without options", ["--resume", copy_run("json-no-options", edit_json(["options"], DELETE))])
case(R, "run.json epochs fractional", ["--resume", copy_run("json-epochs", edit_json(["options", "epochs"], 2.7))])
case(R, "run.json epochs negative", ["--resume", copy_run("json-epochs-neg", edit_json(["options", "epochs"], -1))])
case(R, "run.json epochs huge", ["--resume", copy_run("json-epochs-huge", edit_json(["options", "epochs"], 4e94))])
case(R, "run.json groups negative", ["--resume", copy_run("json-groups", edit_json(["options", "groups"], -4))])
case(R, "run.json lr a string", ["--resume", copy_run("json-lr", edit_json(["options", "lr"], "0.1"))])
case(R, "run.json norm unknown", ["--resume", copy_run("json-norm", edit_json(["options", "norm"], "xn"))])
case(R, "run.json norm edited (gn to ln)", ["--resume", copy_run("json-norm-ln", edit_json(["options", "norm"], "ln"))])
case(R, "run.json lr edited", ["--resume", copy_run("json-lr-edit", edit_json(["options", "lr"], 0.2))])
case(R, "run.json seed edited", ["--resume", copy_run("json-seed", edit_json(["options", "seed"], 9))])
case(R, "run.json affine edited", ["--resume", copy_run("json-affine", edit_json(["options", "affine"], False))])
case(R, "run.json train_limit edited", ["--resume", copy_run("json-limit", edit_json(["options", "train_limit"], 100))])
case(R, "metrics.csv garbled", ["--resume", copy_run("metrics-garbled", write_text("metrics.csv", "epoch,split,loss,penalty,accuracy,lr,seconds\n1,train,5n3,0,9,0.1,1\n"))])
case(R, "metrics.csv not a metrics file", ["--resume", copy_run("metrics-other", write_text("metrics.csv", "hello\n"))])
case(R, "model.safetensors truncated", ["--resume", copy_run("model-cut", lambda d: open(os.path.join(d, "model.safetensors"), "r+b").truncate(100))])
case(R, "model.safetensors from another run", ["--resume", copy_run("model-other", lambda d: shutil.copy(safetensors_with("other-epochs.safetensors", set_meta("epochs_completed", "2")), os.path.join(d, "model.safetensors")))])
case(R, "optimizer.safetensors missing", ["--resume", copy_run("no-optimizer", remove("optimizer.safetensors"))])
case(R, "a finished run", ["--resume", copy_run("finished", lambda d: subprocess.run([vkmnist, "--resume", d, "--quiet"], capture_output=True))])
case(R, "the data changed since", ["--resume", copy_run("data-moved", edit_json(["options", "data"], os.path.join(W, "nowhere")))])

# --- --init -----------------------------------------------------------------------------------
I = "Starting from a checkpoint (--init)"
case(I, "a file that does not exist", [*TRAIN, "--init", os.path.join(W, "nowhere.safetensors"), *out("i1")])
case(I, "a folder without a checkpoint", [*TRAIN, "--init", W, *out("i2")])
case(I, "not a safetensors file", [*TRAIN, "--init", os.path.join(W, "a-file"), *out("i3")])
case(I, "an empty file", [*TRAIN, "--init", safetensors_with("empty.safetensors", raw=b""), *out("i4")])
case(I, "a header length beyond the file", [*TRAIN, "--init", safetensors_with("long-header.safetensors", raw=struct.pack("<Q", 1 << 40) + b"{}"), *out("i5")])
case(I, "a header that is not JSON", [*TRAIN, "--init", safetensors_with("bad-header.safetensors", raw=struct.pack("<Q", 5) + b"{nope"), *out("i6")])
OVERFLOW = b'{"a":{"dtype":"F32","shape":[1e999999999],"data_offsets":[0,4]}}'
case(I, "a number JSON cannot hold in the header", [*TRAIN, "--init", safetensors_with("overflow.safetensors", raw=struct.pack("<Q", len(OVERFLOW)) + OVERFLOW + bytes(4)), *out("i7")])
case(I, "data cut short", [*TRAIN, "--init", safetensors_with("cut.safetensors", data_edit=lambda d: d[:len(d) // 2]), *out("i8")])
case(I, "a BatchNorm model from a GroupNorm checkpoint", ["--norm", "bn", *TRAIN, "--init", MODEL, *out("i9")])
case(I, "a checkpoint naming a norm vkmnist does not know", [*TRAIN, "--init", safetensors_with("norm-xx.safetensors", set_meta("norm", "xx")), *out("i16")])
case(I, "4 groups from a 2-group checkpoint", ["--norm", "gn", "--groups", "4", *TRAIN, "--init", MODEL, *out("i10")])
case(I, "no affine from an affine checkpoint", ["--norm", "gn", "--groups", "2", "--no-affine", *TRAIN, "--init", MODEL, *out("i11")])
case(I, "a weight that is NaN", ["--norm", "gn", "--groups", "2", *TRAIN, "--init", safetensors_with("nan.safetensors", data_edit=lambda d: b"\xff\xff\xff\xff" + d[4:]), *out("i12")])
case(I, "a tensor missing", ["--norm", "gn", "--groups", "2", *TRAIN, "--init", safetensors_with("missing.safetensors", header_edit=lambda h: h.pop("conv1.weight")), *out("i13")])
case(I, "a tensor of the wrong shape", ["--norm", "gn", "--groups", "2", *TRAIN, "--init", safetensors_with("shape.safetensors", header_edit=lambda h: h["conv1.weight"].update(shape=[8, 1, 9, 1])), *out("i14")])
case(I, "a tensor in float16", ["--norm", "gn", "--groups", "2", *TRAIN, "--init", safetensors_with("f16.safetensors", header_edit=lambda h: h["conv1.weight"].update(dtype="F16")), *out("i15")])

# --- eval and predict -------------------------------------------------------------------------
E = "eval and predict"
case(E, "eval without --model", ["eval"])
case(E, "eval of a folder without a checkpoint", ["eval", "--model", W])
case(E, "eval of a file that is not a checkpoint", ["eval", "--model", os.path.join(W, "a-file")])
case(E, "eval with --batch-size 0", ["eval", "--model", RUN, "--batch-size", "0"])
case(E, "predict without images", ["predict", "--model", RUN])
case(E, "predict of a missing file", ["predict", "--model", RUN, os.path.join(W, "nowhere.png")])
case(E, "predict of a file that is not a PNG", ["predict", "--model", RUN, os.path.join(W, "a-file")])
case(E, "predict of a PNG cut short", ["predict", "--model", RUN, png("cut.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR")])
case(E, "predict of a folder", ["predict", "--model", RUN, W])
case(E, "predict with a checkpoint that is not one", ["predict", "--model", os.path.join(W, "a-file"), DIGITS])

# --- compare and sweep ------------------------------------------------------------------------
S = "compare and sweep"
case(S, "compare --seeds 0", ["compare", "--seeds", "0"])
case(S, "compare --resume of a folder without a study", ["compare", "--resume", W])
case(S, "compare --resume with --seeds", ["compare", "--resume", W, "--seeds", "2"])
case(S, "compare --resume with --epochs", ["compare", "--resume", W, "--epochs", "2"])
case(S, "compare --norm (not its option)", ["compare", "--norm", "bn"])
case(S, "sweep --norm with an unknown norm", ["sweep", "--norm", "bn,xn", "--data", "/nonexistent"])
case(S, "sweep --seeds 0", ["sweep", "--seeds", "0"])
case(S, "sweep --batch-size with a 0", ["sweep", "--batch-size", "64,0"])
case(S, "sweep --l1 with a negative value", ["sweep", "--l1", "0,-1"])
case(S, "sweep --resume of a folder without a sweep", ["sweep", "--resume", W])
case(S, "sweep --resume of a corrupt sweep.json", ["sweep", "--resume", copy_run("sweep-json", write_text("sweep.json", "{\"sweep\": 3}"))])
case(S, "sweep --resume with --l2", ["sweep", "--resume", W, "--l2", "0"])

# --- The environment --------------------------------------------------------------------------
V = "The environment"
case(V, "no Vulkan driver", ["devices"], {"VK_ICD_FILENAMES": "/nonexistent/icd.json", "VK_DRIVER_FILES": "/nonexistent/icd.json"})
case(V, "VKMNIST_KERNELS unknown", ["devices"], {"VKMNIST_KERNELS": "fast"})
case(V, "VKMNIST_SUBGROUP_SIZE not a number", [*TRAIN, *out("sg0")], {"VKMNIST_SUBGROUP_SIZE": "many"})
case(V, "VKMNIST_SUBGROUP_SIZE not a power of two", [*TRAIN, *out("sg")], {"VKMNIST_SUBGROUP_SIZE": "6"})
case(V, "VKMNIST_SUBGROUP_SIZE the device cannot give", [*TRAIN, *out("sg2")], {"VKMNIST_SUBGROUP_SIZE": "64"})
case(V, "devices --device matching nothing", ["devices", "--device", "nvidia"])


def outcome(area, what, args, env):
    # What --out names, when it is not there yet, must not be there after a refusal either (a run
    # folder is made before the pipelines are built and removed again when the run fails).
    out_path = args[args.index("--out") + 1] if "--out" in args[:-1] else ""
    out_new = out_path != "" and not os.path.lexists(out_path)
    r = run(args, env)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    problems = []
    if r.returncode == 0:
        problems.append("exit status 0")
    if out_new and os.path.lexists(out_path):
        problems.append(f"left {out_path} behind")
    # One line; a list under it (the devices there are, for --device) is indented.
    if not lines or not lines[0].startswith("vkmnist: ") or any(not l.startswith("  ") for l in lines[1:]):
        problems.append(f"stderr is not one 'vkmnist: ' line: {r.stderr!r}")
    message = lines[0] if lines else ""
    if len(lines) > 1:
        message += " (then a list, indented)"
    command = " ".join(("''" if a == "" else a) for a in args)
    for path, name in ((W, "<tmp>"), (mnist, "<mnist>"), (REPO, "<repo>")):
        message = message.replace(path, name)
        command = command.replace(path, name)
    env_text = " ".join(f"{k}={v}" for k, v in (env or {}).items())
    return command if not env_text else f"{env_text} vkmnist {command}", message, problems


def table(results):
    out = ["# Bad inputs, and what vkmnist says to each", "",
           "Every case below is run by `ctest -R app.bad_inputs` (tests/apps/bad_inputs.py) on a "
           "fresh temporary folder: each must exit non-zero with exactly one line on stderr, "
           "starting `vkmnist: ` (a list may follow it, indented), leave no `--out` it was given "
           "that was not there before, and that line must be the one "
           "recorded here (`<tmp>` is the test's temporary folder, `<mnist>` the MNIST folder, "
           "`<repo>` the repository). A changed message fails the "
           "test until this file is rewritten with `tests/apps/bad_inputs.py VKMNIST MNIST_DIR "
           "--write docs/reliability.md` and read again. The data cases use a 256-image copy of "
           "MNIST with one file spoiled; the resume and init cases a GroupNorm (2 groups) run "
           "stopped after its first epoch, copied and edited.", "",
           f"{len(results)} cases.", ""]
    area = None
    n = 0
    for (a, what, _, _), (command, message, _) in zip(CASES, results):
        if a != area:
            out += ["", f"## {a}", "", "| # | what is wrong | command | message |", "|---:|---|---|---|"]
            area = a
        n += 1
        cmd = command if command.startswith("VK") else f"vkmnist {command}"
        shown = message.replace("|", "\\|")
        out.append(f"| {n} | {what} | `{cmd}` | {shown} |")
    return "\n".join(out) + "\n"


def main():
    results = [outcome(*c) for c in CASES]
    failed = [(c, r) for c, r in zip(CASES, results) if r[2]]
    text = table(results)
    shutil.rmtree(W, ignore_errors=True)
    for (area, what, _, _), (command, message, problems) in failed:
        print(f"bad_inputs: {area}: {what} (vkmnist {command}): {'; '.join(problems)}", file=sys.stderr)
    if write_to:
        open(write_to, "w").write(text)
        print(f"bad_inputs: wrote {len(CASES)} cases to {write_to}")
    elif open(doc).read() != text:
        diff = difflib.unified_diff(open(doc).read().splitlines(), text.splitlines(), "docs/reliability.md",
                                    "what vkmnist says now", lineterm="")
        print("\n".join(diff), file=sys.stderr)
        sys.exit("bad_inputs: messages differ from docs/reliability.md (rewrite it with --write and read them)")
    if failed:
        sys.exit(f"bad_inputs: {len(failed)} of {len(CASES)} cases are not one clear line with a non-zero exit")
    print(f"bad_inputs: all {len(CASES)} cases give their recorded one-line message and a non-zero exit")


if __name__ == "__main__":
    main()
