"""What single cells of the shipped char-LSTM track: the best cell per property of the text, on held-out text.

    python benchmarks/inside_lstm.py [--model models/char-lstm-nietzsche] [--corpus ../shared/data/nietzsche.txt]
                                     [--characters 20000] [--picture docs/inside-lstm-cells.jpg]

Takes the last `--characters` of the held-out 5 % of the corpus (never trained on), runs `find_cells` (Pearson's r
of each cell's tanh(c) with each property, one value per character) and prints the top cells per property with
their correlation, plus the bits per character of that text (`surprisal`). `--picture` draws a passage coloured by
the best cell of each property (red +1, blue −1), the figure of Karpathy, Johnson and Fei-Fei (2016).
"""

import argparse
import time
from pathlib import Path

import _path  # noqa: F401,I001  (the repository on sys.path)

import numpy as np

REPO = Path(_path.__file__).resolve().parents[1]


def draw(passages: list[tuple[str, str, np.ndarray]], path: Path) -> None:
    """Each (title, text, activations in [−1, 1]) as lines of monospaced characters on coloured backgrounds."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype("DejaVuSansMono.ttf", 15) if _has_font() else ImageFont.load_default()
    width_chars, cell_w, cell_h = 96, 9, 19
    blocks = []
    for title, text, values in passages:
        lines, line, line_values = [], [], []
        for char, value in zip(text, values):
            if char == "\n" or len(line) == width_chars:
                lines.append((line, line_values))
                line, line_values = [], []
            if char != "\n":
                line.append(char)
                line_values.append(value)
        lines.append((line, line_values))
        blocks.append((title, lines))
    height = sum(28 + len(lines) * cell_h + 14 for _, lines in blocks) + 10
    image = Image.new("RGB", (width_chars * cell_w + 20, height), "white")
    pen = ImageDraw.Draw(image)
    y = 10
    for title, lines in blocks:
        pen.text((10, y), title, fill="black", font=font)
        y += 28
        for chars, values in lines:
            for index, (char, value) in enumerate(zip(chars, values)):
                strength = min(1.0, abs(float(value)))
                colour = (239, 68, 60) if value > 0 else (70, 110, 230)
                background = tuple(round(255 - strength * (255 - c)) for c in colour)
                x = 10 + index * cell_w
                pen.rectangle([x, y, x + cell_w, y + cell_h], fill=background)
                pen.text((x, y + 1), char, fill="black", font=font)
            y += cell_h
        y += 14
    image.save(path, quality=88)


def _has_font() -> bool:
    from PIL import ImageFont

    try:
        ImageFont.truetype("DejaVuSansMono.ttf", 15)
        return True
    except OSError:
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(REPO / "models" / "char-lstm-nietzsche"))
    parser.add_argument("--corpus", default=str(REPO.parent / "shared" / "data" / "nietzsche.txt"))
    parser.add_argument("--characters", type=int, default=20000)
    parser.add_argument("--picture", default=None, help="write a JPEG of a passage coloured by the best cells")
    args = parser.parse_args()

    from transformers import AutoModelForCausalLM, AutoTokenizer

    from genmods.text import cell_activations, surprisal
    from genmods.text.interpret import PROPERTIES, rank_cells

    model = AutoModelForCausalLM.from_pretrained(args.model).eval()
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    text = tokenizer.normalise(Path(args.corpus).read_text(encoding="utf-8"))
    heldout = text[int(len(text) * 0.95):]
    sample = heldout[-args.characters:]
    sample = "".join(char for char in sample if char not in tokenizer.unknown_characters(sample))
    started = time.perf_counter()
    activations = cell_activations(model, tokenizer, sample)
    bits = [b for _, b in surprisal(model, tokenizer, sample)[1:]]
    print(f"{args.model}: {model.config.num_hidden_layers}×{model.config.hidden_size} LSTM; {len(sample):,} held-out "
          f"characters, {np.mean(bits):.3f} bits/char; activations in {time.perf_counter() - started:.1f} s")
    best = {}
    for name, property_of in PROPERTIES.items():
        ranked = rank_cells(activations, property_of(sample), top=3)
        best[name] = ranked[0]
        print(f"{name:>22}: " + ", ".join(f"layer {m.layer} cell {m.cell} r = {m.correlation:+.3f}" for m in ranked))
    if args.picture:
        start = max(0, sample.find('"', len(sample) // 3) - 120)
        passage = slice(start, start + 96 * 5)
        draw([(f"{name}: layer {m.layer}, cell {m.cell} (r = {m.correlation:+.2f})", sample[passage],
               activations[passage, m.layer - 1, m.cell]) for name, m in best.items()], Path(args.picture))
        print(f"wrote {args.picture}")


if __name__ == "__main__":
    main()
