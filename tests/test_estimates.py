"""Time estimates that hold, progress that tells the truth, and defaults sized for the hardware."""

import threading
import time

import pytest
from PIL import Image

from genmods.dream import DreamSettings, deep_dream
from genmods import estimate
from genmods.defaults import CPU_DEFAULTS, FORMER_DEFAULTS, GPU_DEFAULTS, for_device
from genmods.style import StyleSettings, style_transfer


@pytest.fixture(scope="module")
def photo():
    import skimage.data

    return Image.fromarray(skimage.data.chelsea()).resize((192, 128))


@pytest.fixture
def fresh_measurements():
    """Time the evaluations now, under the same conditions as the job (an earlier test may have timed them while
    a server was busy beside it)."""
    estimate.MEASUREMENTS.clear()
    yield
    estimate.MEASUREMENTS.clear()


def _best_of_two(run) -> float:
    """The job's time, the faster of two runs (the first also warms caches a visitor's job finds warm)."""
    times = []
    for _ in range(2):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def _estimate_and_actual(expected_of, run, attempts: int = 2) -> tuple[float, float]:
    """(estimated, actual) seconds; measured again, from a fresh measurement, when they are more than 30 % apart:
    one busy moment on a shared machine (a 1-second job) must not decide the test, a wrong estimate still does."""
    run()  # the job's shapes set up once, as a visitor's job finds them after the start-up warm-up (an estimate
    # before that also counts each new shape's set-up, which the faster of two runs below never pays)
    for _ in range(attempts):
        estimate.MEASUREMENTS.clear()
        expected, actual = expected_of(), _best_of_two(run)
        if 0.7 * expected <= actual <= 1.3 * expected:
            break
    return expected, actual


def test_a_dream_estimate_is_within_30_percent_of_the_time_it_takes(photo, fresh_measurements):
    settings = DreamSettings(pretrained=False, octaves=2, iterations=15, max_side=192)
    expected, actual = _estimate_and_actual(
        lambda: estimate.dream_estimate(settings, 192, photo.height / photo.width).measured,
        lambda: deep_dream(photo, settings))
    assert 0.7 * expected <= actual <= 1.3 * expected, (expected, actual)


def test_a_style_estimate_is_within_30_percent_of_the_time_it_takes(photo, fresh_measurements):
    settings = StyleSettings(pretrained=False, image_size=128, iterations=20, multi_scale=2)
    expected, actual = _estimate_and_actual(
        lambda: estimate.style_estimate(settings, photo.height / photo.width).measured,
        lambda: style_transfer(photo, photo, settings))
    assert 0.7 * expected <= actual <= 1.3 * expected, (expected, actual)


def test_estimates_learn_from_the_jobs_that_ran():
    calibration = estimate.Calibration(keep=3)
    assert calibration.factor("style") == 1.0
    for actual in (20.0, 30.0, 25.0, 40.0):  # a machine about 2.5× slower than measured
        calibration.record("style", 10.0, actual)
    assert calibration.factor("style") == pytest.approx(3.0)  # the median of the last three: 3.0, 2.5, 4.0
    assert calibration.factor("dream") == 1.0  # kinds are kept apart
    calibration.record("dream", 0.2, 5.0)  # a job too short to say anything
    assert calibration.factor("dream") == 1.0


def test_the_time_left_weighs_each_step_by_its_predicted_cost(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(estimate.time, "monotonic", lambda: now[0])
    # two octaves of 2 steps: the second octave's steps are predicted 3× as costly as the first's
    expected = estimate.Estimate("dream", 8.0, 1.0, [1.0, 1.0, 3.0, 3.0])
    clock = estimate.StepClock(expected, after=4.0)
    assert clock.left(1, 4) is None  # the first step starts the clock
    now[0] = 2.0  # step 2 took 2 s for 1 predicted second: this machine runs at half the predicted speed
    assert clock.left(2, 4) == pytest.approx(2.0 * 6 + 2.0 * 4.0)
    plain = estimate.StepClock()
    now[0] = 10.0
    assert plain.left(1, 5) is None
    now[0] = 13.0
    assert plain.left(4, 5) == pytest.approx(1.0)  # 1 s a step, one step to go


def test_defaults_are_sized_for_the_device():
    import torch

    assert for_device(torch.device("cpu")) is CPU_DEFAULTS and for_device(torch.device("cuda")) is GPU_DEFAULTS
    assert GPU_DEFAULTS.style_size == 512  # the recipes' size where it costs seconds
    # on a CPU the same output size as before, coarse to fine, with fewer iterations at the full size
    assert CPU_DEFAULTS.style_size == FORMER_DEFAULTS.style_size and CPU_DEFAULTS.style_scales == 3
    cpu = StyleSettings(iterations=CPU_DEFAULTS.style_iterations, multi_scale=CPU_DEFAULTS.style_scales)
    assert cpu.schedule()[-1] < FORMER_DEFAULTS.style_iterations / 4


def test_compare_layers_says_done_once_at_the_end(photo, tmp_path):
    from genmods.studio import compare_layers

    path = tmp_path / "cat.png"
    photo.save(path)
    updates = list(compare_layers(str(path), backbone="vgg19", octaves=1, iterations=2, max_side=128, progress=None))
    infos = [info for _, info in updates if isinstance(info, str)]
    assert sum("Done in" in info for info in infos) == 1 and "Done in" in infos[-1]
    assert any("1 of 3 dreams done" in info for info in infos) and len(updates[-1][0]) == 3


def test_a_trace_in_another_thread_does_not_break_a_running_dream(photo):
    from genmods.vision.backbones import feature_extractor

    failures = []

    def trace_new_extractors():
        try:
            for layer in ("conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2"):
                feature_extractor("vgg16", (layer,), pretrained=False, pooling="avg")  # each a new trace
        except Exception as error:  # noqa: BLE001 (reported below)
            failures.append(error)

    tracer = threading.Thread(target=trace_new_extractors)
    tracer.start()
    deep_dream(photo, pretrained=False, backbone="vgg19", layers="low", octaves=1, iterations=25, max_side=96)
    tracer.join()
    assert not failures
