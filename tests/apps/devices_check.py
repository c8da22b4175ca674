#!/usr/bin/env python3
"""`vkmnist devices` as a user and a script read it: the text and --json describe the same
devices, the JSON carries what the text shows (valid JSON even for odd driver strings: written by
a JSON library), exactly one device is the default, and VKMNIST_KERNELS shows in both."""
import json
import os
import subprocess
import sys


def fail(message):
    print(f"devices_check: {message}", file=sys.stderr)
    sys.exit(1)


def run(args, env=None):
    result = subprocess.run(args, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        fail(f"{' '.join(args)} exited {result.returncode}: {result.stderr}")
    return result.stdout


def main():
    vkmnist = sys.argv[1]
    text = run([vkmnist, "devices"])
    rows = [json.loads(line) for line in run([vkmnist, "devices", "--json"]).splitlines()]
    if not rows:
        fail("no device in --json")
    if sum(r["default"] for r in rows) != 1:
        fail(f"{sum(r['default'] for r in rows)} default devices")
    for r in rows:
        for key in ("name", "vendor", "type", "driver", "api", "subgroup_ops", "texel_reads", "kernels"):
            if not r.get(key):
                fail(f"device {r.get('index')}: empty {key}")
        for key in ("subgroup_size", "shared_memory", "max_workgroup_invocations", "timestamp_bits"):
            if not isinstance(r.get(key), int) or r[key] <= 0:
                fail(f"device {r['index']}: {key} = {r.get(key)!r}")
        if not r["heaps"] or not all(h["bytes"] > 0 for h in r["heaps"]):
            fail(f"device {r['index']}: heaps {r['heaps']}")
        # What the text line says of the same device.
        for needle in (f"[{r['index']}] {r['name']}", f"kernels {r['kernels']}",
                       f"max workgroup {r['max_workgroup_invocations']}"):
            if needle not in text:
                fail(f"the text lacks '{needle}' that --json gives:\n{text}")
    forced = [json.loads(line) for line in
              run([vkmnist, "devices", "--json"], env=dict(os.environ, VKMNIST_KERNELS="gpu")).splitlines()]
    if any(r["kernels"] != "gpu" for r in forced):
        fail(f"VKMNIST_KERNELS=gpu not shown: {[r['kernels'] for r in forced]}")
    if "kernels gpu (VKMNIST_KERNELS)" not in run([vkmnist, "devices"], env=dict(os.environ, VKMNIST_KERNELS="gpu")):
        fail("the text does not say the shape came from VKMNIST_KERNELS")
    print(f"devices_check: {len(rows)} devices, text and JSON agree")


if __name__ == "__main__":
    main()
