"""Page faults and kernel time of a short CIFAR-10 run with and without the allocator tuning.

Runs the same 2-epoch ``seed-cnn`` run (the student grid's CE setup) in fresh processes, with
``NOISYLABELS_TUNE_MALLOC=0`` (glibc defaults) and without (thresholds raised by
:func:`noisylabels.train.allocator.tune_allocator`), alternating, and prints the minor page faults,
user and system CPU seconds and the trainer's training time of each. Needs CIFAR-10
(``NOISYLABELS_DATA``). Usage:

    python benchmarks/allocator_faults.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = """
import json, resource, time
from noisylabels.train import TrainConfig, run
cfg = TrainConfig(dataset="cifar10", model="seed-cnn", epochs=2, batch_size=256, lr=0.1,
                  normalization="imagenet", val_fraction=0.2, augment="flip", device="cpu",
                  noise="uniform:0.3", method="ce", test_eval="selected")
run(cfg.replace(epochs=1))  # warm-up: dataset decode, first allocations
r0 = resource.getrusage(resource.RUSAGE_SELF)
rec = run(cfg)
r1 = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"minflt": r1.ru_minflt - r0.ru_minflt, "user_s": r1.ru_utime - r0.ru_utime,
                  "sys_s": r1.ru_stime - r0.ru_stime, "train_s": rec["final"]["train_time_s"],
                  "wall_s": rec["wall_time_s"]}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    print("allocator  minor faults  user s  sys s  train s  wall s")
    for _ in range(args.rounds):
        for tuned in (False, True):
            env = dict(os.environ, NOISYLABELS_TUNE_MALLOC="1" if tuned else "0")
            out = subprocess.run(
                [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{'tuned' if tuned else 'default':9s}  {r['minflt']:12,d}  {r['user_s']:6.1f}  "
                f"{r['sys_s']:5.2f}  {r['train_s']:7.1f}  {r['wall_s']:6.1f}"
            )


if __name__ == "__main__":
    main()
