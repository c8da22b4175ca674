#!/usr/bin/python3
"""The seed net in PyTorch (Debian's python3-torch), for side-by-side runs with vkmnist.

  bench/torch_reference.py bench [--norm bn|ln|gn] [--batch 128] [--steps 50] [--json FILE]
                                 [--device cpu|cuda] [--cuda-graphs]
      times N training steps and N eval batches on the same data and batch, prints images/s in
      vkbench's JSON shape (device "PyTorch <version> CPU, <threads> threads"). With --device
      cuda the batch lives on the GPU and each step is timed by CUDA events after the warm-up
      (eager, PyTorch's usual form); --cuda-graphs captures one whole training step (forward,
      loss, backward, SGD) and one eval batch as CUDA graphs and replays them, the strongest
      PyTorch form for a net this small, whose eager steps are bound by kernel launches.
  bench/torch_reference.py eval --model runs/X/model.safetensors [--predictions runs/X/predictions.csv]
      loads a vkmnist checkpoint into the PyTorch net and evaluates the 10,000 test images: the
      same accuracy as vkmnist's last epoch shows the checkpoint is usable outside vkmnist; with
      --predictions, counts the test images the two classify differently.
  bench/torch_reference.py train [--norm bn] [--epochs 20] [--l1 1e-5] ...
      the same recipe as `vkmnist train` (one-cycle SGD, ±7° rotation, dropout), printing test
      accuracy per epoch: the accuracy yardstick for vkmnist's defaults. --ema D also keeps an
      exponential moving average of the weights and BN statistics (decay min(D, (1+t)/(10+t)) at
      step t, updated after every step) and prints its test accuracy beside the live weights':
      the paired test of weight averaging as a recipe lever, which vkmnist does not have.
      Two more such levers: --cycle-momentum LOW,HIGH (OneCycleLR's cycled momentum, PyTorch's
      default 0.85,0.95) and --clean-epochs N (the last N epochs without augmentation).

Run with Debian's interpreter (/usr/bin/python3); MNIST is read from data/mnist (scripts/fetch-mnist).
"""
import argparse
import copy
import csv
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(data_dir, train):
    prefix = "train" if train else "t10k"
    images = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte"))
    return torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1), torch.from_numpy(labels.astype(np.int64))


def norm_layer(kind, channels, groups, affine):
    if kind == "bn":
        return nn.BatchNorm2d(channels, affine=affine)
    # LayerNorm is GroupNorm with one group, InstanceNorm with one group per channel (with a
    # per-channel affine, as nn.InstanceNorm2d(affine=True) has).
    return nn.GroupNorm({"ln": 1, "in": channels}.get(kind, groups), channels, affine=affine)


class SeedNet(nn.Module):
    # (c_in, c_out, k, norm, dropout, maxpool_after, avgpool_after): the table of DESIGN.md.
    BLOCKS = [(1, 8, 3, True, False, False, False), (8, 8, 3, True, False, False, False),
              (8, 8, 3, True, True, True, False), (8, 16, 3, True, True, False, False),
              (16, 16, 3, True, True, False, False), (16, 8, 1, True, True, False, False),
              (8, 32, 3, True, True, False, False), (32, 16, 1, True, True, False, True),
              (16, 10, 1, False, False, False, False)]

    def __init__(self, norm="bn", groups=4, affine=True, dropout=0.05):
        super().__init__()
        layers = []
        for i, (cin, cout, k, has_norm, has_drop, pool, gap) in enumerate(self.BLOCKS, 1):
            setattr(self, f"conv{i}", nn.Conv2d(cin, cout, k, bias=False))
            block = [getattr(self, f"conv{i}")]
            if has_norm:
                setattr(self, f"norm{i}", norm_layer(norm, cout, groups, affine))
                block.append(getattr(self, f"norm{i}"))
                if has_drop and dropout > 0:
                    # Registered by name like the convs and norms, so that eval() switches it off
                    # (self.blocks is a plain list, to keep the state_dict names PyTorch-simple).
                    setattr(self, f"drop{i}", nn.Dropout(dropout))
                    block.append(getattr(self, f"drop{i}"))
                block.append(nn.ReLU())
            if pool:
                block.append(nn.MaxPool2d(2))
            if gap:
                block.append(nn.AdaptiveAvgPool2d(1))
            layers.append(nn.Sequential(*block))
        self.blocks = layers

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return F.log_softmax(x.flatten(1), dim=1)


def rotate(x, max_degrees, generator):
    """Random rotation in ±max_degrees about the centre, bilinear, zero fill (pixel space)."""
    n = x.shape[0]
    angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(max_degrees)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = cos, -sin, sin, cos
    grid = F.affine_grid(theta, x.shape, align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def normalize(x):
    return (x - 0.1307) / 0.3081


def one_cycle(optimizer, lr, total, warmup=0.3, momentum_range=None):
    """OneCycleLR; with momentum_range (low, high) the momentum cycles against the rate, as
    PyTorch's default does: high at the start and end, low at the peak rate."""
    low, high = momentum_range or (0.85, 0.95)  # ignored without cycling
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total, pct_start=warmup,
                                               cycle_momentum=momentum_range is not None,
                                               base_momentum=low, max_momentum=high)


def l1_penalty(model, l1):
    return l1 * sum(p.abs().sum() for p in model.parameters()) if l1 > 0 else torch.zeros(())


def test_accuracy(model, x_test, y_test):
    """Test loss (mean NLL) and accuracy of `model` in eval mode."""
    model.eval()
    with torch.no_grad():
        out = torch.cat([model(normalize(x_test[i:i + 1000])) for i in range(0, len(x_test), 1000)])
    loss = F.nll_loss(out, y_test, reduction="sum").item() / len(x_test)
    return loss, 100.0 * (out.argmax(1) == y_test).sum().item() / len(x_test)


def update_average(average, model, decay):
    """average = decay * average + (1 - decay) * model, over every floating-point tensor."""
    with torch.no_grad():
        for a, m in zip(average.state_dict().values(), model.state_dict().values()):
            if a.dtype.is_floating_point:
                a.mul_(decay).add_(m, alpha=1.0 - decay)


def train(args):
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    x_train, y_train = load(args.data, True)
    x_test, y_test = load(args.data, False)
    if args.train_limit:
        x_train, y_train = x_train[:args.train_limit], y_train[:args.train_limit]
    model = SeedNet(args.norm, args.groups, not args.no_affine, args.dropout)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum, weight_decay=args.l2)
    steps = math.ceil(len(x_train) / args.batch_size)
    momentum_range = tuple(float(m) for m in args.cycle_momentum.split(",")) if args.cycle_momentum else None
    sched = one_cycle(opt, args.lr, steps * args.epochs, args.warmup, momentum_range)
    average = copy.deepcopy(model) if args.ema > 0 else None
    best = best_ema = 0.0
    t = 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        t0 = time.time()
        perm = torch.randperm(len(x_train), generator=gen)
        total_loss, correct = 0.0, 0
        for s in range(steps):
            idx = perm[s * args.batch_size:(s + 1) * args.batch_size]
            x = x_train[idx]
            if args.augment == "rotate" and epoch <= args.epochs - args.clean_epochs:
                x = rotate(x, 7.0, gen)
            out = model(normalize(x))
            loss = F.nll_loss(out, y_train[idx])
            # out holds log-probabilities, which log_softmax leaves as they are: cross_entropy
            # on them is the smoothed loss vkmnist's --label-smoothing trains on.
            objective = F.cross_entropy(out, y_train[idx], label_smoothing=args.label_smoothing) \
                if args.label_smoothing > 0 else loss
            opt.zero_grad()
            (objective + l1_penalty(model, args.l1)).backward()
            opt.step()
            sched.step()
            t += 1
            if average is not None:
                update_average(average, model, min(args.ema, (1.0 + t) / (10.0 + t)))
            total_loss += loss.item() * len(idx)
            correct += (out.argmax(1) == y_train[idx]).sum().item()
        test_loss, test_acc = test_accuracy(model, x_test, y_test)
        best = max(best, test_acc)
        row = {"epoch": epoch, "train_loss": total_loss / len(x_train),
               "train_accuracy": 100.0 * correct / len(x_train), "test_loss": test_loss,
               "test_accuracy": test_acc, "seconds": time.time() - t0}
        if average is not None:
            _, ema_acc = test_accuracy(average, x_test, y_test)
            best_ema = max(best_ema, ema_acc)
            row["ema_test_accuracy"] = ema_acc
        print(json.dumps(row), flush=True)
    summary = {"norm": args.norm, "best_test_accuracy": best, "final_test_accuracy": test_acc}
    if average is not None:
        summary.update({"ema": args.ema, "best_ema_test_accuracy": best_ema,
                        "final_ema_test_accuracy": ema_acc})
    print(json.dumps(summary))


def read_safetensors(path):
    """A safetensors file as {name: tensor} and its metadata, with nothing but the standard library."""
    with open(path, "rb") as f:
        data = f.read()
    header_len, = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_len])
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", f"{name}: dtype {info['dtype']}"
        begin, end = info["data_offsets"]
        array = np.frombuffer(data[8 + header_len + begin:8 + header_len + end], dtype="<f4")
        tensors[name] = torch.from_numpy(array.copy()).reshape(info["shape"])
    return tensors, metadata


def evaluate(args):
    tensors, meta = read_safetensors(args.model)
    model = SeedNet(meta["norm"], int(meta["groups"]), meta["affine"] == "true", float(meta["dropout"]))
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    missing = [m for m in missing if not m.endswith("num_batches_tracked")]
    if missing or unexpected:
        sys.exit(f"eval: missing {missing}, unexpected {unexpected}")
    x_test, y_test = load(args.data, False)
    model.eval()
    with torch.no_grad():
        out = torch.cat([model(normalize(x_test[i:i + 1000])) for i in range(0, len(x_test), 1000)])
    acc = 100.0 * (out.argmax(1) == y_test).sum().item() / len(x_test)
    loss = F.nll_loss(out, y_test).item()
    report = {"model": args.model, "norm": meta["norm"], "epochs_completed": meta.get("epochs_completed"),
              "test_loss": loss, "test_accuracy": acc}
    if args.predictions:
        # vkmnist's predictions.csv (index,label,predicted) of the same checkpoint: which test images
        # the two frameworks classify differently.
        with open(args.predictions) as f:
            rows = list(csv.DictReader(f))
        if len(rows) != len(y_test):
            sys.exit(f"eval: {args.predictions} has {len(rows)} predictions for {len(y_test)} test images")
        ours = out.argmax(1).tolist()
        differ = [int(r["index"]) for r in rows if int(r["predicted"]) != ours[int(r["index"])]]
        report["predictions_compared"] = len(rows)
        report["predictions_differing"] = len(differ)
        report["differing_indices"] = differ[:20]
    print(json.dumps(report))


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


class StepTimer:
    """Wall-clock seconds per call on the CPU; CUDA events on the GPU (the host does not wait on
    the device between steps, as in training, only once at the end of each timed step)."""

    def __init__(self, device):
        self.cuda = device.type == "cuda"

    def time(self, fn):
        if not self.cuda:
            t0 = time.perf_counter()
            fn()
            return time.perf_counter() - t0
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1000.0


def bench_steps(model, opt, x, y, args, device):
    """The training step and the eval batch as callables: eager, or replays of CUDA graphs
    captured after warm-up on a side stream (torch.cuda.graphs' whole-network recipe)."""

    def train_step():
        out = model(x)
        loss = F.nll_loss(out, y)
        opt.zero_grad(set_to_none=False)
        loss.backward()
        opt.step()

    def eval_step():
        with torch.no_grad():
            model(x)

    if not args.cuda_graphs:
        return train_step, eval_step

    def capture(fn, mode):
        mode()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                fn()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            fn()
        return graph.replay

    return capture(train_step, model.train), capture(eval_step, model.eval)


def device_name(device, args):
    if device.type == "cuda":
        form = "CUDA graphs" if args.cuda_graphs else "eager"
        return f"PyTorch {torch.__version__} CUDA {torch.version.cuda}, {torch.cuda.get_device_name(device)}, {form}"
    return f"PyTorch {torch.__version__} CPU, {torch.get_num_threads()} threads"


def bench(args):
    if args.cuda_graphs and args.device != "cuda":
        sys.exit("bench: --cuda-graphs needs --device cuda")
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit(f"bench: PyTorch {torch.__version__} has no CUDA device here "
                 f"(built with CUDA: {torch.version.cuda or 'no'})")
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    if args.synthetic:  # timing does not depend on the digits: random images of MNIST's shape
        generator = torch.Generator().manual_seed(args.seed)
        x_train = torch.rand(args.batch, 1, 28, 28, generator=generator)
        y_train = torch.randint(0, 10, (args.batch,), generator=generator)
    else:
        x_train, y_train = load(args.data, True)
    timer = StepTimer(device)
    results = []
    for norm in ([args.norm] if args.norm != "all" else ["bn", "ln", "gn"]):  # "in": ask for it
        model = SeedNet(norm, args.groups, True, args.dropout).to(device)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x = normalize(x_train[:args.batch]).to(device)
        y = y_train[:args.batch].to(device)
        train_step, eval_step = bench_steps(model, opt, x, y, args, device)
        model.train()
        train_times = [timer.time(train_step) for _ in range(args.warmup + args.steps)][args.warmup:]
        model.eval()
        eval_times = [timer.time(eval_step) for _ in range(args.warmup + args.steps)][args.warmup:]
        results.append({"norm": norm, "batch": args.batch, "steps": args.steps,
                        "train_images_per_second": args.batch / median(train_times),
                        "eval_images_per_second": args.batch / median(eval_times)})
    report = {"device": {"name": device_name(device, args), "vendor": "PyTorch",
                         "type": "GPU" if device.type == "cuda" else "CPU"},
              "end_to_end": results}
    text = json.dumps(report, indent=2)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    print(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    e = sub.add_parser("eval")
    e.add_argument("--model", required=True)
    e.add_argument("--data", default=os.path.join(ROOT, "data", "mnist"))
    e.add_argument("--predictions", default="", help="vkmnist's predictions.csv of the same checkpoint, to compare")
    for name in ("train", "bench"):
        p = sub.add_parser(name)
        p.add_argument("--data", default=os.path.join(ROOT, "data", "mnist"))
        p.add_argument("--norm", default="bn" if name == "train" else "all", choices=["bn", "ln", "gn", "in", "all"])
        p.add_argument("--groups", type=int, default=4)
        p.add_argument("--dropout", type=float, default=0.05)
        p.add_argument("--seed", type=int, default=1)
        p.add_argument("--threads", type=int, default=0)
    t = sub.choices["train"]
    t.add_argument("--epochs", type=int, default=20)
    t.add_argument("--batch-size", type=int, default=128)
    t.add_argument("--lr", type=float, default=0.05)
    t.add_argument("--momentum", type=float, default=0.9)
    t.add_argument("--cycle-momentum", default="", metavar="LOW,HIGH",
                   help="cycle the momentum against the one-cycle rate (PyTorch's default 0.85,0.95); "
                        "replaces --momentum")
    t.add_argument("--clean-epochs", type=int, default=0,
                   help="train the last N epochs on the images as they are, without augmentation")
    t.add_argument("--l1", type=float, default=0.0)
    t.add_argument("--l2", type=float, default=0.0)
    t.add_argument("--no-affine", action="store_true")
    t.add_argument("--augment", default="rotate", choices=["rotate", "none"])
    t.add_argument("--label-smoothing", type=float, default=0.0)
    t.add_argument("--warmup", type=float, default=0.3, help="one-cycle pct_start")
    t.add_argument("--train-limit", type=int, default=0)
    t.add_argument("--ema", type=float, default=0.0,
                   help="also evaluate an exponential moving average of the weights with this decay")
    b = sub.choices["bench"]
    b.add_argument("--batch", type=int, default=128)
    b.add_argument("--steps", type=int, default=30)
    b.add_argument("--warmup", type=int, default=5)
    b.add_argument("--json", default="")
    b.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                   help="where the net and the batch live (cuda: timed by CUDA events)")
    b.add_argument("--cuda-graphs", action="store_true",
                   help="with --device cuda: replay CUDA graphs of a whole step instead of eager calls")
    b.add_argument("--synthetic", action="store_true",
                   help="random images of MNIST's shape instead of data/mnist (the timing is the same)")
    args = parser.parse_args()
    if getattr(args, "threads", 0):
        torch.set_num_threads(args.threads)
    if args.command == "eval":
        evaluate(args)
    elif args.command == "train":
        if args.norm == "all":
            sys.exit("train: choose one --norm")
        if not 0.0 <= args.ema < 1.0:
            sys.exit(f"train: --ema {args.ema} is not a decay in [0, 1)")
        train(args)
    else:
        bench(args)


if __name__ == "__main__":
    main()
