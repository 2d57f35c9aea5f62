"""DeepDream speed: the Keras recipe at 512×384, ours vs a naive port, same process, same weights.

    python benchmarks/dream_speed.py [--iterations 20] [--octaves 3]

Naive port: the whole InceptionV3 classifier runs forward (Mixed_7a…7c and the head included), the
four Mixed_6b…6e activations are taken by forward hooks, fp32, contiguous NCHW — what a first port
of the Keras example looks like. Ours: `genmods.dream.deep_dream` (FX-truncated extractor,
channels-last, bf16 autocast where the CPU has native bf16). Random weights: the cost of the
maths does not depend on training.
"""

import argparse
import time

import torch

import _path  # noqa: F401,I001  (the repository on sys.path)

from genmods.dream import PRESETS, dream_loss, deep_dream, octave_shapes, reinject_detail, resize
from genmods.vision.backbones import LAYER_ALIASES, feature_extractor, load_backbone

KERAS = PRESETS["inception_v3"]["keras"]


def naive_dream(model, image: torch.Tensor, octaves: int, iterations: int, step: float):
    """The baseline, written out on purpose (it is the thing we compare against): hooks on the full model."""
    activations = {}
    modules = dict(model.named_modules())
    hooks = [modules[LAYER_ALIASES["inception_v3"][name]].register_forward_hook(
        lambda module, inputs, output, name=name: activations.__setitem__(name, output)) for name in KERAS]
    shapes = octave_shapes(tuple(image.shape[-2:]), octaves, 1.4)
    seconds = []
    dream = resize(image, shapes[0])
    try:
        for index, shape in enumerate(shapes):
            started = time.perf_counter()
            if index:
                dream = reinject_detail(dream, image, shapes[index - 1], shape)
            for _ in range(iterations):
                x = dream.detach().requires_grad_(True)
                model(x)
                loss = dream_loss(activations, KERAS)
                (gradient,) = torch.autograd.grad(loss, x)
                dream = (x + step * gradient / gradient.abs().mean().clamp_min(1e-6)).detach()
            seconds.append(time.perf_counter() - started)
    finally:
        for hook in hooks:
            hook.remove()
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--octaves", type=int, default=3)
    args = parser.parse_args()

    import skimage.data
    from PIL import Image

    picture = Image.fromarray(skimage.data.astronaut()).resize((512, 384))
    model, _ = load_backbone("inception_v3", pretrained=False)
    # the same input for both: the naive port takes the backbone's own normalisation (its pretrained_cfg)
    pixels = feature_extractor("inception_v3", tuple(KERAS), pretrained=False, precision="fp32").to_pixels(picture)
    mean, std = (torch.tensor(model.pretrained_cfg[key]).view(1, 3, 1, 1) for key in ("mean", "std"))
    x = (pixels - mean) / std

    # warm-up both paths once (first calls pay for allocation and kernel selection)
    naive_dream(model, resize(x, (96, 128)), 1, 1, 0.01)
    deep_dream(picture.resize((128, 96)), layers="keras", octaves=1, iterations=1, pretrained=False)

    naive = naive_dream(model, x, args.octaves, args.iterations, 0.01)
    per_octave = []
    started = [time.perf_counter()]

    def on_step(update):
        if update.step % args.iterations == 0:
            per_octave.append(time.perf_counter() - started[0])
            started[0] = time.perf_counter()

    ours = deep_dream(picture, layers="keras", octaves=args.octaves, iterations=args.iterations, pretrained=False,
                      callback=on_step, max_side=512)
    print(f"Keras recipe, 512×384, {args.octaves} octaves × {args.iterations} iterations, torch threads {torch.get_num_threads()}")
    print(f"{'octave':>8} {'shape':>10} {'naive s':>9} {'ours s':>9} {'ratio':>7}")
    for index, (shape, a, b) in enumerate(zip(ours.octave_shapes, naive, per_octave), start=1):
        print(f"{index:>8} {f'{shape[0]}×{shape[1]}':>10} {a:>9.2f} {b:>9.2f} {b / a:>7.2f}")
    print(f"{'total':>8} {'':>10} {sum(naive):>9.2f} {sum(per_octave):>9.2f} {sum(per_octave) / sum(naive):>7.2f}  (target ≤ 0.60)")


if __name__ == "__main__":
    main()
