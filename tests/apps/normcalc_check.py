#!/usr/bin/env python3
"""normcalc_check.py VKMNIST: `vkmnist normcalc --json` recomputed independently, in plain Python:
BN per channel over (N, H, W), LN per image over (C, H, W), GN with 2 groups per image and
group; means, biased variances and normalized outputs, CPU and GPU columns alike."""
import json
import math
import subprocess
import sys

N, C, H, W = 4, 4, 2, 2
EPS = 1e-5


def at(x, n, c, i):
    return x[((n * C + c) * H * W) + i]


def normalize(x, groups_of):
    """groups_of(n, c) -> statistic index; returns (means, vars, y)."""
    members = {}
    for n in range(N):
        for c in range(C):
            for i in range(H * W):
                members.setdefault(groups_of(n, c), []).append(at(x, n, c, i))
    stats = {}
    for key, vals in members.items():
        mean = sum(vals) / len(vals)
        stats[key] = (mean, sum((v - mean) ** 2 for v in vals) / len(vals))
    y = []
    for n in range(N):
        for c in range(C):
            mean, var = stats[groups_of(n, c)]
            y += [(at(x, n, c, i) - mean) / math.sqrt(var + EPS) for i in range(H * W)]
    keys = sorted(stats)
    return [stats[k][0] for k in keys], [stats[k][1] for k in keys], y


def close(name, got, want, tol):
    worst = max(abs(a - b) for a, b in zip(got, want))
    if len(got) != len(want) or worst > tol:
        sys.exit(f"normcalc_check: {name}: differs by {worst:.3g} (tolerance {tol})")


def main():
    for seed in (1, 7):
        out = subprocess.run([sys.argv[1], "normcalc", "--json", "--seed", str(seed)], check=True,
                             capture_output=True, text=True).stdout
        j = json.loads(out)
        x = j["input"]
        assert len(x) == N * C * H * W
        expected = {"bn": normalize(x, lambda n, c: c), "ln": normalize(x, lambda n, c: n),
                    "gn": normalize(x, lambda n, c: n * 2 + c // 2)}
        for key, (means, variances, y) in expected.items():
            close(f"{key} mean (seed {seed})", j[key]["mean"], means, 1e-5)
            close(f"{key} var (seed {seed})", j[key]["var"], variances, 1e-4)
            close(f"{key} CPU output (seed {seed})", j[key]["cpu"], y, 1e-5)
            close(f"{key} GPU output (seed {seed})", j[key]["gpu"], y, 1e-5)
            if abs(j[key]["max_difference"] - max(abs(a - b) for a, b in zip(j[key]["cpu"], j[key]["gpu"]))) > 1e-9:
                sys.exit(f"normcalc_check: {key} reported max_difference is not the largest difference")
    print("normcalc_check: BN, LN and GN agree with an independent computation")


if __name__ == "__main__":
    main()
