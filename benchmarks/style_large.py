"""Large style-transfer outputs on this machine: time and peak memory, in tiles and (where it fits) whole.

    python benchmarks/style_large.py [--sizes 1024 1536 2048] [--iterations 24] [--tile-size 512] [--whole-up-to 1024]

Each run is a fresh process (peak RSS is a per-process high-water mark), painting skimage's chelsea in the swirls
example style coarse to fine with L-BFGS, random weights (offline: the cost does not depend on training). "tiles"
is the library's default (scales above --tile-size refined tile by tile); "whole" optimises every scale in one
piece (tile_size = the output size), run up to --whole-up-to px since beyond it the memory is the point.
Prints seconds, peak RSS (GB), the scales and the tile count of the last scale; ratios against the whole run of the
same size, measured in the same invocation.
"""

import argparse
import json
import resource
import subprocess
import sys
import time

import _path  # noqa: F401,I001  (the repository on sys.path)

CHILD = """
import json, resource, sys, time
import _path
from genmods.examples import paint_swirls, photo
from genmods.style import style_transfer
size, iterations, tile = (int(v) for v in sys.argv[1:4])
started = time.perf_counter()
result = style_transfer(photo("chelsea"), paint_swirls(), image_size=size, iterations=iterations, tile_size=tile,
                        multi_scale=3, pretrained=False, seed=0)
print(json.dumps(dict(seconds=time.perf_counter() - started, sizes=result.sizes, final=result.final,
                      peak_gb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2)))
"""


def run(size: int, iterations: int, tile: int) -> dict:
    started = time.perf_counter()
    output = subprocess.run([sys.executable, "-c", CHILD, str(size), str(iterations), str(tile)], capture_output=True,
                            text=True, cwd=_path.__file__.rsplit("/", 1)[0])
    if output.returncode != 0:
        return dict(error=output.stderr.strip().splitlines()[-1], seconds=time.perf_counter() - started)
    return json.loads(output.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 1536, 2048])
    parser.add_argument("--iterations", type=int, default=24, help="at the coarsest scale; halved at each finer one")
    parser.add_argument("--tile-size", type=int, default=512)
    parser.add_argument("--whole-up-to", type=int, default=1024)
    args = parser.parse_args()
    print(f"torch threads: see the child; machine: {open('/proc/cpuinfo').read().count('processor')} CPUs")
    print(f"{'size':>6} {'how':>6} {'seconds':>8} {'peak GB':>8} {'scales':>26} {'tiles':>6} {'final':>8} {'vs whole':>9}")
    for size in args.sizes:
        from genmods.style.tiles import tile_layout

        whole = run(size, args.iterations, size) if size <= args.whole_up_to else None
        tiled = run(size, args.iterations, args.tile_size)
        for how, record in (("whole", whole), ("tiles", tiled)):
            if record is None:
                continue
            if "error" in record:
                print(f"{size:>6} {how:>6} failed after {record['seconds']:.0f} s: {record['error']}")
                continue
            last = tuple(record["sizes"][-1])
            tiles = len(tile_layout(last, size if how == "whole" else args.tile_size))
            ratio = (f"{record['seconds'] / whole['seconds']:.2f}× time"
                     if how == "tiles" and whole and "error" not in whole else "")
            scales = " → ".join(f"{w}×{h}" for h, w in record["sizes"])
            print(f"{size:>6} {how:>6} {record['seconds']:>8.1f} {record['peak_gb']:>8.2f} {scales:>26} {tiles:>6} "
                  f"{record['final']['total']:>8.4f} {ratio:>9}", flush=True)
    print(f"peak RSS of this parent process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2:.2f} GB")


if __name__ == "__main__":
    main()
