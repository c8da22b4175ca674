#!/usr/bin/python3
"""vkbench as a user drives it: a quick benchmark of the default device (lavapipe in CI) written
as JSON and checked field by field (every kernel checked "ok" and timed, ceilings and rates
positive and finite, nothing null), `compare` of that report with itself and a PyTorch report in
bench/torch_reference.py's shape, `--device all` in the several-device form, and the errors a
user can make (missing or broken report files, a bad batch, an unknown device, no driver), each a
clear line and a non-zero exit.

  vkbench_check.py VKBENCH
"""
import json
import math
import os
import subprocess
import sys
import tempfile

# The seed net's multiply-adds per image, forward: conv1 26*26*8*1*9 = 48,672 (whose backward
# needs no dx), conv2 331,776, conv3 278,784, conv4 93,312, conv5 112,896, conv6 6,272, conv7
# 57,600, conv8 12,800, conv9 160.
CONV1_MACS = 48672
NET_MACS_PER_IMAGE = 942272

SHADERS = {
    "conv2d_forward", "conv2d_backward", "conv2d_backward_weight",
    "norm_forward_stats", "norm_forward", "norm_backward_sums", "norm_backward",
    "maxpool2d_forward", "maxpool2d_backward", "avgpool_global_forward",
    "avgpool_global_backward", "log_softmax_nll_forward", "sgd_update_segments",
}

# VKMNIST_KERNELS=gpu: the convs' GPU-shaped kernels instead (dx and the weight gradient apart).
GPU_SHAPE_SHADERS = (SHADERS - {"conv2d_forward", "conv2d_backward", "conv2d_backward_weight"}) | {
    "conv2d_forward_gpu", "conv2d_backward_gpu", "conv2d_backward_weight_gpu"}


def fail(message):
    print(f"vkbench_check: {message}", file=sys.stderr)
    sys.exit(1)


def run(args, env=None, expect_ok=True):
    result = subprocess.run(args, capture_output=True, text=True, env=env)
    if expect_ok and result.returncode != 0:
        fail(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    if not expect_ok and result.returncode == 0:
        fail(f"{' '.join(args)} exited 0; an error was expected:\n{result.stdout}")
    return result


def expect_error(args, pattern, env=None):
    result = run(args, env=env, expect_ok=False)
    text = result.stdout + result.stderr
    if pattern not in text:
        fail(f"{' '.join(args)}: the message does not say '{pattern}':\n{text}")


def no_nulls(value, where="report"):
    if value is None:
        fail(f"{where} is null (vkbench writes 'skipped: reason', never a missing number)")
    if isinstance(value, float) and not math.isfinite(value):
        fail(f"{where} is not finite")
    if isinstance(value, dict):
        for k, v in value.items():
            no_nulls(v, f"{where}.{k}")
    if isinstance(value, list):
        for i, v in enumerate(value):
            no_nulls(v, f"{where}[{i}]")


def positive(row, key, where):
    if not isinstance(row.get(key), (int, float)) or not row[key] > 0:
        fail(f"{where}: {key} = {row.get(key)!r}, expected a positive number")


def check_report(report, batch, shaders=SHADERS):
    no_nulls(report)
    device = report["device"]
    for key in ("name", "vendor", "type", "driver_name", "driver_info", "driver_version", "api_version",
                "subgroup_operations"):
        if not device.get(key):
            fail(f"device.{key} is empty")
    positive(device, "subgroup_size", "device")
    if not device["memory_heaps"]:
        fail("no memory heaps in the provenance")

    ceilings = {c["name"]: c for c in report["ceilings"]}
    if set(ceilings) != {"fma_scalar", "fma_vec4", "copy_shader", "copy_texel", "copy_transfer"}:
        fail(f"ceilings: {sorted(ceilings)}")
    for name, c in ceilings.items():
        if c.get("check") != "ok":
            fail(f"ceiling {name}: {c}")
        positive(c, "value", name)
        if "read" not in c["counts"] and "FLOP" not in c["counts"]:
            fail(f"ceiling {name} does not say what it counts: {c['counts']}")
    positive(report["roofline"], "peak_gflops", "roofline")
    positive(report["roofline"], "bandwidth_gbs", "roofline")

    kernels = report["kernels"]
    seen = {k["kernel"] for k in kernels}
    if seen != shaders:
        fail(f"kernel table: missing {sorted(shaders - seen)}, unexpected {sorted(seen - shaders)}")
    for k in kernels:
        where = f"kernel {k['kernel']} {k['layer']} {k['norm']}"
        if k["check"] != "ok" or k["check_rel_l2"] > 1e-4:
            fail(f"{where}: check {k['check']}")
        if k["repeats"] != 3 or not k["min_ms"] <= k["median_ms"] <= k["max_ms"]:
            fail(f"{where}: timings {k}")
        for key in ("median_ms", "flops", "bytes", "gflops", "gbs", "roofline_fraction",
                    "workgroups", "invocations", "macs_per_invocation"):
            positive(k, key, where)
        if k["bound"] not in ("compute", "memory"):
            fail(f"{where}: bound {k['bound']}")
        if not k["shape"].startswith(f"[{batch},") and k["kernel"] != "sgd_update_segments":
            fail(f"{where}: shape {k['shape']} is not at batch {batch}")
    norms = {k["norm"] for k in kernels if k["norm"]}
    if norms != {"bn", "ln", "gn"}:
        fail(f"norm kernels for {sorted(norms)}")

    rows = {e["norm"]: e for e in report["end_to_end"]}
    if set(rows) != {"bn", "ln", "gn"}:
        fail(f"end to end rows: {sorted(rows)}")
    for norm, e in rows.items():
        if e["check"] != "ok" or e["batch"] != batch:
            fail(f"end to end {norm}: {e}")
        for key in ("train_images_per_second", "eval_images_per_second", "dispatches_per_step",
                    "barriers_per_step", "bytes_per_step", "minimum_bytes_per_step"):
            positive(e, key, f"end to end {norm}")
        # The step's traffic: at least the net's minimum.
        if not e["minimum_bytes_per_step"] <= e["bytes_per_step"]:
            fail(f"end to end {norm}: bytes per step {e['bytes_per_step']}, minimum "
                 f"{e['minimum_bytes_per_step']}")
        # The profiled step: every dispatch of one step, timed, adding up to the kernel sum.
        kernels = e.get("step_kernels", [])
        dispatches = sum(k["dispatches"] for k in kernels)
        if dispatches != e["dispatches_per_step"] or any(k["ms"] <= 0 for k in kernels):
            fail(f"end to end {norm}: profiled step {kernels}, {e['dispatches_per_step']} dispatches")
        if abs(sum(k["ms"] for k in kernels) - e["step_kernel_ms"]) > 1e-6 * e["step_kernel_ms"]:
            fail(f"end to end {norm}: step kernels do not add up to {e['step_kernel_ms']}")
        # Its parallelism, dispatch by dispatch: every conv states its multiply-adds, which match
        # the net's (each gradient as many as the forward), and one invocation's share of them.
        shapes = e.get("step_dispatches", [])
        if len(shapes) != e["dispatches_per_step"]:
            fail(f"end to end {norm}: {len(shapes)} dispatch shapes, {e['dispatches_per_step']} dispatches")
        for d in shapes:
            if d["workgroups"] <= 0 or d["invocations"] < d["workgroups"]:
                fail(f"end to end {norm}: dispatch grid {d}")
            if d["label"].startswith("conv2d_") and "reduce" not in d["label"]:
                if not 0 < d["serial_macs"] <= d["macs"]:
                    fail(f"end to end {norm}: conv work {d}")
        forward = sum(d["macs"] for d in shapes if d["label"].startswith("conv2d_forward"))
        backward = sum(d["macs"] for d in shapes if d["label"].startswith("conv2d_backward"))
        if forward != NET_MACS_PER_IMAGE * batch or backward != 2 * forward - CONV1_MACS * batch:
            fail(f"end to end {norm}: step multiply-adds forward {forward}, backward {backward}")

    pipelines = report["pipelines"]
    positive(pipelines, "kernels", "pipelines")
    positive(pipelines, "cold_seconds", "pipelines")
    positive(pipelines, "first_dispatch_seconds", "pipelines")
    if pipelines.get("warm_skipped") != "--quick":
        fail(f"pipelines: warm should be skipped under --quick: {pipelines}")


def check_gpu_shape(vkbench, work, batch):
    """The kernels shaped for GPUs, as a GPU runs them by default: every kernel checked, the
    provenance saying so."""
    report_file = os.path.join(work, "gpu-shape.json")
    run([vkbench, "--quick", "--quiet", "--batch", str(batch), "--json", report_file],
        env=dict(os.environ, VKMNIST_KERNELS="gpu"))
    with open(report_file) as f:
        report = json.load(f)
    if report["device"].get("kernels") != "gpu":
        fail(f"VKMNIST_KERNELS=gpu: the report says kernels {report['device'].get('kernels')!r}")
    check_report(report, batch, GPU_SHAPE_SHADERS)


def main():
    vkbench = sys.argv[1]
    if len(sys.argv) > 2 and sys.argv[2] == "--gpu-shape":
        with tempfile.TemporaryDirectory() as work:
            check_gpu_shape(vkbench, work, 5)
        print("vkbench_check: the GPU shape, 1 passed, 0 failed")
        return
    with tempfile.TemporaryDirectory() as work:
        report_file = os.path.join(work, "lavapipe.json")
        batch = 5  # odd: partial workgroups everywhere
        result = run([vkbench, "--quick", "--batch", str(batch), "--json", report_file])
        for heading in ("Summary", "Ceilings", "Kernels of the training step", "End to end",
                        "Pipeline creation"):
            if heading not in result.stdout:
                fail(f"the screen report has no '{heading}' section:\n{result.stdout}")
        # The headline first: the summary before the first detail section.
        if not result.stdout.index("Summary") < result.stdout.index("Ceilings"):
            fail("the summary is not the first section")
        if "every check passed" not in result.stdout:
            fail(f"the summary does not say the checks passed:\n{result.stdout[:2000]}")
        with open(report_file) as f:
            report = json.load(f)
        check_report(report, batch)

        torch_file = os.path.join(work, "torch.json")
        with open(torch_file, "w") as f:
            json.dump({"device": {"name": "PyTorch 9.9 CPU, 2 threads", "vendor": "PyTorch", "type": "CPU"},
                       "end_to_end": [{"norm": "bn", "batch": 128, "steps": 30, "train_images_per_second": 2345.6,
                                       "eval_images_per_second": 9876.5}]}, f)
        result = run([vkbench, "compare", report_file, report_file, torch_file])
        table = result.stdout
        for needle in (report["device"]["name"], "PyTorch 9.9 CPU", "train images/s, bn", "2346",
                       "FMA vec4, GFLOP/s", "conv2d_forward", "norm_forward (bn)", "[3]",
                       "different batch sizes (5, 128)"):
            if needle not in table:
                fail(f"compare output lacks '{needle}':\n{table}")

        all_file = os.path.join(work, "all.json")
        run([vkbench, "--device", "all", "--quick", "--quiet", "--sections", "ceilings", "--json", all_file])
        with open(all_file) as f:
            several = json.load(f)
        if "reports" not in several and "device" not in several:
            fail(f"--device all wrote neither one report nor {{'reports': [...]}}")
        run([vkbench, "compare", all_file, torch_file])

        broken = os.path.join(work, "broken.json")
        with open(broken, "w") as f:
            f.write("{ not json")
        expect_error([vkbench, "compare", broken], "is not valid JSON")
        expect_error([vkbench, "compare", os.path.join(work, "nowhere.json")], "nowhere.json")
        expect_error([vkbench, "--batch", "0"], "--batch")
        expect_error([vkbench, "--device", "no-such-gpu", "--quick"], "vkbench: --device: no device name contains")
        no_driver = dict(os.environ, VK_ICD_FILENAMES="/nonexistent/icd.json", VK_DRIVER_FILES="/nonexistent/icd.json")
        expect_error([vkbench, "--quick"], "install mesa-vulkan-drivers", env=no_driver)
        if os.path.exists(os.path.join(work, "nowhere.json")):
            fail("a failed run created a file")
    print("vkbench_check: 1 passed, 0 failed")


if __name__ == "__main__":
    main()
