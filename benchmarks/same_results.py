"""Proves that a refactor changed no result: seeded style-transfer, clip and DeepDream runs on random weights,
each delivered image reduced to a SHA-256 of its pixels.

    python benchmarks/same_results.py --save before.json      # on the old code
    python benchmarks/same_results.py --check before.json     # on the new code: every run must match

Not a speed benchmark: it prints one line per run (the hash, and "same" or "DIFFERENT" with --check) and exits 1
when any run differs. It uses only the public keyword API, which both versions share.
"""

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import skimage.data
import torch
from PIL import Image

import _path  # noqa: F401,I001  (the repository on sys.path)

from genmods.dream import deep_dream
from genmods.style import style_transfer, style_video


def digest(image: Image.Image) -> str:
    array = np.asarray(image.convert("RGB"))
    return hashlib.sha256(array.tobytes() + str(array.shape).encode()).hexdigest()[:16]


def runs():
    content = Image.fromarray(skimage.data.astronaut()).resize((96, 80))
    style = Image.fromarray(skimage.data.hubble_deep_field()).resize((90, 90))
    other = Image.fromarray(skimage.data.coffee()).resize((90, 60))
    fast = dict(image_size=64, iterations=8, pretrained=False, seed=3)
    top = np.zeros((content.height, content.width), np.uint8)
    top[: content.height // 2] = 255

    yield "style lbfgs", lambda: style_transfer(content, style, **fast).image
    yield "style adam", lambda: style_transfer(content, style, optimizer="adam", **fast).image
    yield "style noise init", lambda: style_transfer(content, style, init="noise", **fast).image
    yield "style two scales", lambda: style_transfer(content, style, **dict(fast, image_size=96, multi_scale=2,
                                                                            iterations=12)).image
    yield "style preserve colour", lambda: style_transfer(content, style, preserve_color=True, **fast).image
    yield "style blend + avg pool", lambda: style_transfer(content, [style, other], style_blend=[2, 1], pooling="avg",
                                                           style_scale=1.5, tv_weight=5, **fast).image
    yield "style regions", lambda: style_transfer(content, [style, other], masks=[top, 255 - top], **fast).image
    yield "style region kept", lambda: style_transfer(content, style, masks=[top], **fast).image

    def continued(optimizer):
        first = style_transfer(content, style, optimizer=optimizer, **fast)
        return style_transfer(content, style, optimizer=optimizer, init=first, **fast).image

    yield "style continue lbfgs", lambda: continued("lbfgs")
    yield "style continue adam", lambda: continued("adam")

    frames = []
    for shift in range(3):
        frame = np.asarray(content).copy()
        frame[10:30, 10 + 8 * shift: 30 + 8 * shift] = 255
        frames.append(frame)

    def clip():
        result = style_video(np.stack(frames), style, image_size=64, iterations=6, pretrained=False, seed=3)
        return Image.fromarray(np.concatenate([np.asarray(f) for f in result.frames], axis=1))

    yield "style clip", clip
    dream = dict(pretrained=False, seed=3, octaves=2, iterations=4, max_side=128)
    yield "dream keras", lambda: deep_dream(content, **dream).image
    yield "dream high jitter", lambda: deep_dream(content, layers="high", jitter=8, **dream).image
    yield "dream vgg19 tiled", lambda: deep_dream(content, backbone="vgg19", layers="mid", tile_size=64, **dream).image


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save", type=Path)
    parser.add_argument("--check", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(2)
    expected = json.loads(args.check.read_text()) if args.check else {}
    seen, different = {}, []
    for name, run in runs():
        seen[name] = digest(run())
        verdict = "" if not expected else ("same" if expected.get(name) == seen[name] else "DIFFERENT")
        if verdict == "DIFFERENT":
            different.append(name)
        print(f"{name:28s} {seen[name]} {verdict}", flush=True)
    if args.save:
        args.save.write_text(json.dumps(seen, indent=1))
    if expected:
        print(f"{len(seen) - len(different)} of {len(seen)} runs deliver bit-identical images")
    sys.exit(1 if different else 0)


if __name__ == "__main__":
    main()
