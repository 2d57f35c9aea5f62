"""The Space under a burst of visitors: 20 text requests and 4 image jobs at once, against `python app.py`.

    python benchmarks/serving_load.py [--text 20] [--images 4] [--length 400]

Launches the app in its own process (HF_HUB_OFFLINE=1: random backbone weights, which cost the same),
makes one gradio_client per visitor, and fires every request at the same moment: text at the tab's
defaults (400 characters, three temperatures), DeepDream with small settings (VGG19, low layers, one
octave of 10 steps, 128 px). Prints how many were answered and refused, the time to the last answer,
text requests per second, and the server's peak resident memory. Then the same text requests one after
another, for the ratio (the baseline, in the same run).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

import _path  # noqa: F401,I001  (the repository on sys.path)
from tests.app_server import free_port

REPO = Path(__file__).resolve().parents[1]
PROMPT = "new faculty, and the jubilation reached its climax when kant"


def launch(port):
    env = dict(os.environ, HF_HUB_OFFLINE="1", GRADIO_SERVER_PORT=str(port), GRADIO_SERVER_NAME="127.0.0.1",
               GRADIO_ANALYTICS_ENABLED="False")
    log = open(os.environ.get("SERVER_LOG", os.devnull), "w")
    server = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=env, stdout=log, stderr=log)
    from gradio_client import Client

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            Client(f"http://127.0.0.1:{port}/", verbose=False)
            return server
        except Exception:
            time.sleep(1)
    server.kill()
    raise SystemExit("the app did not start within 180 s")


class PeakMemory(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.process, self.peak, self.running = psutil.Process(pid), 0, True

    def run(self):
        while self.running:
            try:
                rss = sum(p.memory_info().rss for p in [self.process, *self.process.children(recursive=True)])
            except psutil.Error:
                break
            self.peak = max(self.peak, rss)
            time.sleep(0.05)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", type=int, default=20)
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--length", type=int, default=400)
    args = parser.parse_args()

    import skimage.data
    from gradio_client import Client, handle_file
    from PIL import Image

    image = Path(tempfile.mkdtemp()) / "chelsea.png"
    Image.fromarray(skimage.data.chelsea()).save(image)
    port = free_port()
    server = launch(port)
    memory = PeakMemory(server.pid)
    memory.start()
    url = f"http://127.0.0.1:{port}/"
    try:
        text = dict(prompt=PROMPT, length=args.length, api_name="/generate_text")
        dream = dict(image=handle_file(str(image)), backbone="vgg19", preset="low", octaves=1, iterations=10,
                     max_side=128, api_name="/deep_dream")
        Client(url, verbose=False).predict(**dict(text, length=20))  # loads the text model
        Client(url, verbose=False).predict(**dict(dream, iterations=1))  # loads the backbone

        requests = [("text", dict(text, seed=i)) for i in range(args.text)] + [("image", dream)] * args.images
        clients = [Client(url, verbose=False) for _ in requests]
        outcomes, start = [None] * len(requests), threading.Event()

        def visit(index):
            kind, kwargs = requests[index]
            start.wait()
            began = time.perf_counter()
            try:
                clients[index].predict(**kwargs)
                outcomes[index] = (kind, "answered", time.perf_counter() - began)
            except Exception as error:
                refused = "queue is full" in str(error).lower()
                outcomes[index] = (kind, "refused" if refused else f"error: {error}", time.perf_counter() - began)

        if os.environ.get("SPY"):
            subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(server.pid), "-o", os.environ["SPY"], "-f", "raw", "-d", "20", "-t", "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)
        threads = [threading.Thread(target=visit, args=(i,)) for i in range(len(requests))]
        for thread in threads:
            thread.start()
        server_cpu, own_cpu = psutil.Process(server.pid).cpu_times(), psutil.Process().cpu_times()
        started = time.perf_counter()
        start.set()
        for thread in threads:
            thread.join()
        burst_seconds = time.perf_counter() - started
        server_cpu = sum(psutil.Process(server.pid).cpu_times()[:2]) - sum(server_cpu[:2])
        own_cpu = sum(psutil.Process().cpu_times()[:2]) - sum(own_cpu[:2])
        text_times = [o[2] for o in outcomes if o[0] == "text" and o[1] == "answered"]
        answered = sum(o[1] == "answered" for o in outcomes)
        refused = sum(o[1] == "refused" for o in outcomes)
        errors = [o[1] for o in outcomes if o[1].startswith("error")]

        sequential_cpu = sum(psutil.Process(server.pid).cpu_times()[:2])
        sequential_started = time.perf_counter()
        for i in range(args.text):
            clients[i].predict(**dict(text, seed=i))
        sequential_seconds = time.perf_counter() - sequential_started
        sequential_cpu = sum(psutil.Process(server.pid).cpu_times()[:2]) - sequential_cpu
    finally:
        memory.running = False
        server.terminate()
        server.wait(timeout=30)

    burst_rate = len(text_times) / max(text_times) if text_times else 0.0
    sequential_rate = args.text / sequential_seconds
    print(f"burst: {args.text} text ({args.length} characters) + {args.images} DeepDream jobs at once")
    print(f"  answered {answered} / {len(requests)}, refused {refused}, other errors {len(errors)} {errors[:2]}")
    print(f"  time to the last answer {burst_seconds:.1f} s (last text answer {max(text_times, default=0):.1f} s)")
    print(f"  text: {burst_rate:.2f} requests/s under the burst vs {sequential_rate:.2f} one after another "
          f"= {burst_rate / sequential_rate:.1f}×")
    print(f"  CPU time during the burst: server {server_cpu:.1f} s, the clients (this process) {own_cpu:.1f} s "
          f"(both on this machine's {psutil.cpu_count()} cores)")
    if not args.images:  # server CPU per text request: the capacity a Space has when its visitors are elsewhere
        print(f"  server CPU per text request: {server_cpu / args.text:.2f} s under the burst vs "
              f"{sequential_cpu / args.text:.2f} s one after another = {sequential_cpu / server_cpu:.1f}× less")
    print(f"  peak server RSS {memory.peak / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
