"""The first visitor after a restart against the next one: the default Dream and Paint on the first examples, through
the app's own handlers, in a fresh process, with and without the start-up warm-up the app runs.

    python benchmarks/first_visitor.py            # both, each in a fresh process
    python benchmarks/first_visitor.py --one warm  # one process: "warm" (as app.py starts) or "cold" (no warm-up)

For each job: the estimate shown before it, the time it took, for the first and the second visitor. With the
warm-up (`genmods.estimate.warm_up`: the default extractors measured, then the default jobs run once on the
examples with one step per octave or scale, in the background) the first visitor should wait about as long as the
second, and both estimates should hold. The warm-up is awaited before the first visitor here, as a visitor who
arrives a minute after the restart finds it; its own time is printed.
"""

import argparse
import os
import re
import subprocess
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import _path  # noqa: F401,E402  (the repository on sys.path)


def estimate_seconds(line: str) -> float:
    """'… about 4 s on this CPU' / 'about 1.2 min' → seconds."""
    match = re.search(r"about ([\d.]+) (s|min|h)", line)
    return float(match[1]) * {"s": 1, "min": 60, "h": 3600}[match[2]]


def one_process(kind: str) -> None:
    from genmods import studio
    from genmods.examples import example_files
    from genmods.defaults import DEFAULTS

    files = example_files()
    if kind == "warm":
        started = time.perf_counter()
        studio.measure_devices().join()
        print(f"warm-up (in the background in the app): {time.perf_counter() - started:.1f} s", flush=True)
    jobs = {
        "Dream": (lambda: studio.estimate_dream(files["astronaut"]),
                  lambda: studio.dream(files["astronaut"], progress=None, request=None)),
        "Paint": (lambda: studio.estimate_style(files["chelsea"]),
                  lambda: studio.stylize(files["chelsea"], files["starry_night"], progress=None, request=None)),
    }
    for visitor in ("first", "second"):
        for name, (estimate, run) in jobs.items():
            said = estimate_seconds(estimate())
            started = time.perf_counter()
            for _ in run():
                pass
            took = time.perf_counter() - started
            print(f"{kind:>4} {visitor:>6} visitor, {name}: estimate {said:.1f} s, took {took:.1f} s", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", choices=["warm", "cold"])
    args = parser.parse_args()
    if args.one:
        one_process(args.one)
        return
    for kind in ("cold", "warm"):
        subprocess.run([sys.executable, __file__, "--one", kind], check=True)


if __name__ == "__main__":
    main()
