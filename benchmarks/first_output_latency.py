"""Time to first streamed output for each tab of the launched app, at the tabs' default settings.

    python benchmarks/first_output_latency.py [--repeat 3]

Launches app.py's `demo` on a local port and measures, through gradio_client, the time from submitting
a job to receiving its first streamed output (text: the first characters; images: the first intermediate
image), and to the end of the job. Targets on this CPU: text ≤ 0.5 s, images ≤ 2 s. Backbones use
random weights when the Hub is unreachable (the cost does not depend on training).
"""

import argparse
import os
import time

import _path  # noqa: F401,I001  (the repository on sys.path)

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def first_and_total(client, **kwargs):
    started = time.perf_counter()
    job = client.submit(**kwargs)
    first = None
    for output in job:
        has_content = output[0] if not isinstance(output[0], str) else len(output[0]) > 0
        if first is None and has_content:
            first = time.perf_counter() - started
    job.result()
    return first, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from gradio_client import Client, handle_file

    from genmods.examples import example_files
    from tests.app_server import running_app

    files = example_files()
    jobs = {
        "text (default: 400 chars × 3 temperatures)": dict(api_name="/generate_text"),
        "DeepDream (default: InceptionV3, keras, 3 octaves × 20, 512 px)": dict(
            image=handle_file(files["chelsea"]), api_name="/deep_dream"),
        "style transfer (default: 384 px, 100 L-BFGS iterations)": dict(
            content_image=handle_file(files["astronaut"]), style_image=handle_file(files["swirls"]),
            api_name="/style_transfer"),
    }
    targets = {"text": 0.5, "DeepDream": 2.0, "style transfer": 2.0}
    with running_app() as url:
        client = Client(url, verbose=False)
        print(f"{'tab':<64} {'first output s':>15} {'whole job s':>12} {'target':>7}")
        for name, kwargs in jobs.items():
            first_and_total(client, **dict(kwargs, **({"length": 20} if "text" in name else {})))  # warm-up
            runs = [first_and_total(client, **kwargs) for _ in range(args.repeat if "text" in name else 1)]
            first = min(r[0] for r in runs)
            total = min(r[1] for r in runs)
            target = next(v for k, v in targets.items() if name.startswith(k))
            print(f"{name:<64} {first:>15.2f} {total:>12.1f} {target:>7.1f}")


if __name__ == "__main__":
    main()
