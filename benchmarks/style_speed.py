"""Style transfer speed: ours vs the PyTorch-tutorial structure, same process, same weights, 384 px.

    python benchmarks/style_speed.py [--iterations 20] [--size 384]

Tutorial structure: VGG19's whole `features` as an nn.Sequential with ContentLoss / StyleLoss modules
inserted after the paper's layers and nothing truncated, fp32, NCHW. Ours: `genmods.style.style_transfer`
(FX-truncated after conv5_1, channels-last, bf16 autocast where the CPU has native bf16). Both use the
same L-BFGS settings (and first-step size) for the same number of iterations; the final content and style distances are
measured by one shared full-precision evaluator. Random weights: the cost does not depend on training.
"""

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from genmods.style import CONTENT_LAYERS, STYLE_LAYERS, gram_matrix, style_transfer
from genmods.vision.backbones import LAYER_ALIASES, feature_extractor, load_backbone


class ContentLoss(torch.nn.Module):
    def __init__(self, target):
        super().__init__()
        self.target, self.loss = target.detach(), 0.0

    def forward(self, x):
        self.loss = F.mse_loss(x, self.target)
        return x


class StyleLoss(torch.nn.Module):
    def __init__(self, target):
        super().__init__()
        self.target, self.loss = gram_matrix(target).detach(), 0.0

    def forward(self, x):
        self.loss = F.mse_loss(gram_matrix(x), self.target)
        return x


def tutorial_model(features, content_x, style_x):
    """The tutorial's construction: copy `features` layer by layer, inserting loss modules (no trimming)."""
    content_at = {int(LAYER_ALIASES["vgg19"][n].split(".")[1]) for n in CONTENT_LAYERS}
    style_at = {int(LAYER_ALIASES["vgg19"][n].split(".")[1]) for n in STYLE_LAYERS}
    model, content_losses, style_losses = torch.nn.Sequential(), [], []
    for index, layer in enumerate(features):
        model.add_module(str(index), layer)
        if index in content_at:
            loss = ContentLoss(model(content_x))
            model.add_module(f"content_loss_{index}", loss)
            content_losses.append(loss)
        if index in style_at:
            loss = StyleLoss(model(style_x))
            model.add_module(f"style_loss_{index}", loss)
            style_losses.append(loss)
    return model, content_losses, style_losses


def run_tutorial(features, content_x, style_x, iterations, style_weight=1e6, tv_weight=1e-2):
    with torch.no_grad():
        model, content_losses, style_losses = tutorial_model(features, content_x, style_x)
    image = content_x.clone().requires_grad_(True)
    solver = torch.optim.LBFGS([image], lr=1.0, max_iter=1, max_eval=20, history_size=50, tolerance_grad=-1,
                               tolerance_change=-1, line_search_fn="strong_wolfe")
    evaluations = 0

    def closure():
        nonlocal evaluations
        evaluations += 1
        solver.zero_grad()
        model(image)
        tv = (image[..., 1:, :] - image[..., :-1, :]).square().mean() + (image[..., 1:] - image[..., :-1]).square().mean()
        total = sum(l.loss for l in content_losses) + style_weight * sum(l.loss for l in style_losses) / len(style_losses) + tv_weight * tv
        total.backward()
        return total

    started = time.perf_counter()
    for iteration in range(iterations):
        # the same step schedule as ours: a first step of ~0.05 per pixel, then the curvature's (lr 1)
        solver.param_groups[0]["lr"] = 0.05 * image.numel() if iteration == 0 else 1.0
        solver.step(closure)
    return image.detach(), time.perf_counter() - started, evaluations


def distances(evaluator, image, content_x, style_x):
    """Shared evaluator (fp32): content = MSE at conv4_2; style = mean Gram MSE over the paper's layers."""
    with torch.no_grad():
        a, c, s = evaluator(image), evaluator(content_x), evaluator(style_x)
    content = F.mse_loss(a[CONTENT_LAYERS[0]], c[CONTENT_LAYERS[0]]).item()
    style = np.mean([F.mse_loss(gram_matrix(a[n]), gram_matrix(s[n])).item() for n in STYLE_LAYERS])
    return content, style


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--size", type=int, default=384)
    args = parser.parse_args()

    import skimage.data

    content = Image.fromarray(skimage.data.astronaut()).resize((args.size, args.size))
    style = Image.fromarray(skimage.data.hubble_deep_field()).resize((args.size, args.size))
    layers = tuple(dict.fromkeys(CONTENT_LAYERS + STYLE_LAYERS))
    evaluator = feature_extractor("vgg19", layers, pretrained=False, precision="fp32")
    content_x, style_x = evaluator.preprocess(content), evaluator.preprocess(style)
    model, _ = load_backbone("vgg19", pretrained=False)

    # warm-up
    run_tutorial(model.features, content_x[..., :64, :64], style_x[..., :64, :64], 1)
    style_transfer(content.resize((64, 64)), style.resize((64, 64)), image_size=64, iterations=1, pretrained=False)

    tutorial_image, tutorial_seconds, tutorial_evaluations = run_tutorial(model.features, content_x, style_x, args.iterations)
    started = time.perf_counter()
    ours = style_transfer(content, style, image_size=args.size, iterations=args.iterations, pretrained=False)
    ours_seconds = time.perf_counter() - started
    ours_evaluations = sum(h["evaluations"] for h in ours.history)
    ours_x = evaluator.preprocess(ours.image)  # what the user gets (8-bit image)
    tutorial_x = evaluator.preprocess(evaluator.deprocess(tutorial_image))

    print(f"{args.size}×{args.size}, {args.iterations} L-BFGS iterations, torch threads {torch.get_num_threads()}")
    print(f"{'':>10} {'s/iter':>8} {'evals':>6} {'s/eval':>8} {'content':>10} {'style':>10}")
    for name, seconds, evaluations, x in (("tutorial", tutorial_seconds, tutorial_evaluations, tutorial_x),
                                          ("ours", ours_seconds, ours_evaluations, ours_x)):
        c, s = distances(evaluator, x, content_x, style_x)
        print(f"{name:>10} {seconds / args.iterations:>8.3f} {evaluations:>6} {seconds / evaluations:>8.3f} {c:>10.4g} {s:>10.4g}")
    print(f"time per evaluation, ours / tutorial: {(ours_seconds / ours_evaluations) / (tutorial_seconds / tutorial_evaluations):.2f}"
          f"  (target ≤ 0.60); per iteration: {ours_seconds / tutorial_seconds:.2f}")


if __name__ == "__main__":
    main()
