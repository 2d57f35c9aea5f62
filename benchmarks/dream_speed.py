"""DeepDream speed: the Keras recipe at 512×384, ours vs a naive port, same process, same weights.

    python benchmarks/dream_speed.py [--iterations 20] [--octaves 3] [--precision fp32|auto]

Naive port: the whole InceptionV3 classifier runs forward (Mixed_7a…7c and the head included), the
four Mixed_6b…6e activations are taken by forward hooks, fp32, contiguous NCHW — what a first port
of the Keras example looks like. Ours: `genmods.dream.deep_dream` (FX-truncated extractor, batch norms folded into
the convolutions, channels-last; with --precision auto, bf16 autocast where the CPU has native bf16). The default
--precision fp32 is what a CPU without native bf16 (a free Space's) runs. Random weights: the cost of the maths
does not depend on training.

Also printed: the rate of our ascent steps in GFLOP/s (FLOPs of one forward + backward counted by torch's
FlopCounterMode) against this machine's fp32 matrix-multiply peak, measured in the same run.
"""

import argparse
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

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


def matmul_peak_gflops(side: int = 2048, repeats: int = 10) -> float:
    """This machine's fp32 matrix-multiply rate: the best of `repeats` products of two side × side matrices."""
    a, b = torch.randn(side, side), torch.randn(side, side)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * side**3 / best / 1e9


def _timed(run) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def step_gflop(extractor, shape) -> float:
    """GFLOP of one ascent step (forward + backward of the truncated network) at `shape`."""
    x = torch.rand(1, 3, *shape, requires_grad=True)
    with FlopCounterMode(display=False) as counter:
        dream_loss(extractor(x), KERAS).backward()
    return counter.get_total_flops() / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--octaves", type=int, default=3)
    parser.add_argument("--precision", choices=["fp32", "auto"], default="fp32",
                        help="ours: fp32 (a CPU without native bf16) or auto (bf16 where the CPU has it)")
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
    deep_dream(picture.resize((128, 96)), layers="keras", octaves=1, iterations=1, pretrained=False,
               precision=args.precision)

    naive = naive_dream(model, x, args.octaves, args.iterations, 0.01)
    per_octave = []
    started = [time.perf_counter()]

    def on_step(update):
        if update.step % args.iterations == 0:
            per_octave.append(time.perf_counter() - started[0])
            started[0] = time.perf_counter()

    ours = deep_dream(picture, layers="keras", octaves=args.octaves, iterations=args.iterations, pretrained=False,
                      callback=on_step, max_side=512, precision=args.precision)
    extractor = feature_extractor("inception_v3", tuple(KERAS), pretrained=False, precision="fp32")
    flops = [step_gflop(extractor, shape) * args.iterations for shape in ours.octave_shapes]
    peak = matmul_peak_gflops()
    bf16 = "with" if "avx512_bf16" in open("/proc/cpuinfo").read() else "without"
    print(f"Keras recipe, 512×384, {args.octaves} octaves × {args.iterations} iterations, torch threads "
          f"{torch.get_num_threads()}, ours in {args.precision}, CPU {bf16} AVX512-BF16")
    print(f"{'octave':>8} {'shape':>10} {'naive s':>9} {'ours s':>9} {'ratio':>7} {'ours GFLOP/s':>13}")
    for index, (shape, a, b, f) in enumerate(zip(ours.octave_shapes, naive, per_octave, flops), start=1):
        print(f"{index:>8} {f'{shape[0]}×{shape[1]}':>10} {a:>9.2f} {b:>9.2f} {b / a:>7.2f} {f / b:>13.1f}")
    print(f"{'total':>8} {'':>10} {sum(naive):>9.2f} {sum(per_octave):>9.2f} {sum(per_octave) / sum(naive):>7.2f} "
          f"{sum(flops) / sum(per_octave):>13.1f}  (target ≤ 0.55)")
    print(f"fp32 matmul peak of this machine (2048², same run): {peak:.1f} GFLOP/s; ours reaches "
          f"{sum(flops) / sum(per_octave) / peak:.0%} of it")


if __name__ == "__main__":
    main()
