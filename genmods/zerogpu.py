"""ZeroGPU support: `gpu(fn)` is `spaces.GPU(fn)` on a Hugging Face Space that has the `spaces`
package, and `fn` unchanged everywhere else.

Import this module before anything touches CUDA (app.py imports it first): `spaces` must patch
torch's CUDA initialisation before it happens.
"""

try:
    import spaces
except ImportError:  # not on a Space (or a CPU Space without ZeroGPU)
    spaces = None


def gpu(fn=None, *, duration: int = 120):
    """Decorator: ask ZeroGPU for a GPU for at most `duration` seconds per call (no-op without `spaces`)."""
    def wrap(function):
        return spaces.GPU(duration=duration)(function) if spaces is not None else function
    return wrap(fn) if fn is not None else wrap
