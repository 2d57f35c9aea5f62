"""transformers' own model and config test mixins, taken from the pinned transformers release.

This repository holds only code we write, so the mixins are not copied in. The source distribution of
the pinned transformers on PyPI carries `tests/test_modeling_common.py` (`ModelTesterMixin`) and
`tests/test_configuration_common.py` (`ConfigTester`): `pip download` fetches it once into
~/.cache/genmods (or $GENMODS_CACHE), and the two files are imported from a package built in a
temporary folder, `transformers_tests`.

They import three modules that the sdist does not carry; stand-ins of ours take their place:
- `exporters/test_export.py`: `ExportTesterMixin`, the base class of `ModelTesterMixin` (transformers'
  torch.export / ONNX / ExecuTorch checks). Empty here; our own torch.export test is in
  tests/test_char_lstm_conformance.py.
- `generation/test_utils.py`: `GenerationTesterMixin`. Empty here: `ModelTesterMixin` only checks that a
  generating model's tester inherits it. Its tests are run by hand (README, "Conformance").
- `utils/test_configuration_utils.py`: `config_common_kwargs`, every argument of `PreTrainedConfig`
  itself set to a value other than its default (`ConfigTester` checks that a config keeps them all).

With TRANSFORMERS_TESTS=<a transformers checkout>/tests the real modules of that checkout replace the
stand-ins: that is how `GenerationTesterMixin` runs by hand.
"""

import importlib
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from types import SimpleNamespace

import transformers

VERSION = transformers.__version__
CACHE = Path(os.environ.get("GENMODS_CACHE", Path.home() / ".cache" / "genmods"))
PACKAGE = "transformers_tests"
FROM_SDIST = ("test_modeling_common.py", "test_configuration_common.py")

# What pip prints when it cannot reach the package registry (as opposed to any other failure): connection
# errors while it retries, and a version list with nothing in it (a reachable PyPI lists transformers' versions).
UNREACHABLE = (
    "NewConnectionError", "Failed to establish a new connection", "Temporary failure in name resolution",
    "Network is unreachable", "Max retries exceeded", "ConnectTimeout", "Connection refused", "(from versions: none)",
)

STAND_INS = {
    "exporters/test_export.py": '''
class ExportTesterMixin:
    """Stand-in (genmods): transformers' export tests are not in the sdist."""
''',
    "generation/test_utils.py": '''
class GenerationTesterMixin:
    """Stand-in (genmods): transformers' generation tests are not in the sdist; they run by hand."""
''',
    "utils/test_configuration_utils.py": '''
config_common_kwargs = {  # PreTrainedConfig's own arguments, each away from its default (genmods)
    "return_dict": False,
    "output_hidden_states": True,
    "dtype": "float16",
    "chunk_size_feed_forward": 5,
    "architectures": ["CharLSTMForCausalLM"],
    "id2label": {0: "label"},
    "label2id": {"label": "0"},
    "problem_type": "regression",
}
''',
}


class RegistryUnreachable(RuntimeError):
    """PyPI could not be reached, so the transformers sdist could not be downloaded."""


def sdist() -> Path:
    """The pinned transformers sdist, downloaded once with pip and kept in the cache."""
    target = CACHE / f"transformers-{VERSION}.tar.gz"
    if target.exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as download:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", f"transformers=={VERSION}", "--no-binary", ":all:",
             "--no-deps", "--disable-pip-version-check", "-d", download],
            capture_output=True, text=True, timeout=900,
        )
        said = done.stdout + done.stderr
        if done.returncode != 0:
            if any(sign in said for sign in UNREACHABLE):
                raise RegistryUnreachable(f"pip could not reach the package registry: {said.strip()[-300:]}")
            raise RuntimeError(f"pip download transformers=={VERSION} failed:\n{said}")
        (downloaded,) = Path(download).glob("transformers-*.tar.gz")
        downloaded.replace(target)  # atomic: a half-downloaded file is never taken for the sdist
    return target


def _write_package(root: Path, real_tests: Path | None) -> None:
    package = root / PACKAGE
    with tarfile.open(sdist()) as archive:
        for name in FROM_SDIST:
            member = archive.extractfile(f"transformers-{VERSION}/tests/{name}")
            (package / name).parent.mkdir(parents=True, exist_ok=True)
            (package / name).write_bytes(member.read())
    (package / "__init__.py").write_text("")
    for name, stand_in in STAND_INS.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / "__init__.py").write_text("")
        real = None if real_tests is None else real_tests / name
        path.write_text(real.read_text() if real is not None and real.exists() else stand_in)


def load() -> SimpleNamespace:
    """`modeling`, `configuration` and `generation`: the imported test modules."""
    real_tests = os.environ.get("TRANSFORMERS_TESTS")
    root = Path(tempfile.mkdtemp(prefix="transformers-tests-"))
    _write_package(root, Path(real_tests) if real_tests else None)
    sys.path.insert(0, str(root))
    if real_tests:
        # transformers' own generation tests import `tests.exporters.test_export` by its absolute name;
        # in this repository `tests` is ours, so that name is pointed at the package built here.
        for name in ("exporters", "exporters.test_export"):
            sys.modules[f"tests.{name}"] = importlib.import_module(f"{PACKAGE}.{name}")
    return SimpleNamespace(
        modeling=importlib.import_module(f"{PACKAGE}.test_modeling_common"),
        configuration=importlib.import_module(f"{PACKAGE}.test_configuration_common"),
        generation=importlib.import_module(f"{PACKAGE}.generation.test_utils"),
    )
