"""Launching the Space's app on a free local port for the client and browser tests."""

import socket
from contextlib import contextmanager


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_app():
    from app import CSS, JS, demo
    from genmods import studio

    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                max_file_size="10mb", show_error=True,
                max_threads=studio.SERVER_THREADS, css=CSS, js=JS)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()
