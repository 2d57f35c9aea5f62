"""A real browser (Debian's Chromium, driven by Playwright) uses the app as a visitor does: runs each tab,
watches the intermediate images stream in, stops jobs, shares links and reopens them. Screenshots land in
test-artifacts/browser/."""

import shutil

import pytest
from PIL import Image

from .app_server import running_app
from .conftest import REPO

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts" / "browser"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 # Chromium's test camera (a moving shape on green) stands in for a webcam, without a prompt
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian's chromium is not installed (.ci/run installs it)"),
]


@pytest.fixture(scope="module")
def app_url():
    with running_app() as url:
        yield url


@pytest.fixture(scope="module")
def browser_context(app_url):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1100})
        context.grant_permissions(["clipboard-read", "clipboard-write", "camera"], origin=app_url.rstrip("/"))
        context.set_default_timeout(120_000)
        yield context
        browser.close()


@pytest.fixture(scope="module")
def page(browser_context, app_url):
    page = browser_context.new_page()
    page.goto(app_url)
    page.get_by_text("Conditioning text").wait_for()
    return page


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    import skimage.data

    folder = tmp_path_factory.mktemp("pictures")
    Image.fromarray(skimage.data.chelsea()).resize((150, 100)).save(folder / "cat.png")
    Image.fromarray(skimage.data.coffee()).resize((120, 90)).save(folder / "coffee.png")
    (folder / "notes.png").write_text("this is not a picture")
    return folder


def set_number(page, label: str, value):
    # the first in the page: the style tab's Iterations comes before the clip's (both are rendered once opened)
    box = page.get_by_label(f"number input for {label}", exact=True).first
    box.fill(str(value))
    box.press("Enter")


def info_says(page, elem_id: str, text: str, timeout: float = 120_000) -> str:
    """Waits until the info panel `elem_id` holds `text`, or says the job failed (then fails with what it says)."""
    page.wait_for_function("([id, text]) => { const info = document.querySelector('#' + id).innerText;"
                           " return info.includes(text) || info.includes('Nothing was made'); }",
                           arg=[elem_id, text], timeout=timeout)
    said = text_of(page, elem_id)
    assert text in said, (said, page.locator(".toast-body, .toast-text").all_inner_texts())
    return said


def visible_panel(page):
    return page.locator("[role=tabpanel]:visible").first


def text_of(page, elem_id: str) -> str:
    return page.locator(f"#{elem_id}").inner_text()


def share_and_reopen(page, browser_context):
    """Clicks the visible tab's "Share via Link" and opens the copied link in a new page."""
    page.evaluate("navigator.clipboard.writeText('')")  # not the link an earlier test copied
    visible_panel(page).get_by_role("button", name="Share via Link").click()
    # polled here: page.wait_for_function takes an async function's promise as an immediate success
    link = ""
    for _ in range(100):
        link = page.evaluate("navigator.clipboard.readText()")
        if "deep_link=" in link:
            break
        page.wait_for_timeout(200)
    reopened = browser_context.new_page()
    reopened.goto(link)
    reopened.locator("[role=tab][aria-selected=true]").wait_for()
    return reopened


def open_style_tab_with_cat_and_coffee(page, pictures):
    """The style tab with the cat as content and the coffee as style; returns the tab's panel."""
    page.get_by_role("tab", name="Style transfer").click()
    panel = visible_panel(page)
    uploads = panel.locator("input[type=file]")
    uploads.nth(0).set_input_files(str(pictures / "cat.png"))
    uploads.nth(1).set_input_files(str(pictures / "coffee.png"))
    return panel


def selected_tab(page) -> str:
    return page.locator("[role=tab][aria-selected=true]").inner_text().strip()


def test_text_tab_streams_and_walks_the_next_character_distribution(page, browser_context):
    page.get_by_role("tab", name="Text").click()
    set_number(page, "Characters to generate", 200)
    page.get_by_role("button", name="Generate").click()
    columns = [page.locator(f"#text-out-{name} textarea") for name in ("low", "mid", "high")]
    page.wait_for_function("el => el.value.length >= 200", arg=columns[0].element_handle())
    assert [len(column.input_value()) for column in columns] == [200, 200, 200]
    assert "Seed " in text_of(page, "text-info")  # a fresh seed, shown so it can be reused
    # the next-character view opens on the first position where the model was unsure, and follows the slider
    page.get_by_text("of the T = 0.5 text").wait_for()
    first = text_of(page, "next-char-line")
    assert first.startswith("Character ") and "of 200" in first
    slider = page.locator("#next-char-position input[type=range]")
    slider.focus()
    for _ in range(5):
        slider.press("ArrowRight")
    page.wait_for_function("first => document.querySelector('#next-char-line').innerText !== first", arg=first)
    assert page.locator("#next-char-plot canvas, #next-char-plot svg").count() >= 1
    page.screenshot(path=ARTIFACTS / "text.png", full_page=True)

    reopened = share_and_reopen(page, browser_context)
    assert selected_tab(reopened) == "Text"
    assert reopened.locator("#text-out-mid textarea").input_value() == columns[1].input_value()
    assert "Seed " in text_of(reopened, "text-info")
    reopened.screenshot(path=ARTIFACTS / "text-reopened-from-link.png", full_page=True)
    reopened.close()


def test_text_stop_keeps_what_was_written(page):
    page.get_by_role("tab", name="Text").click()
    set_number(page, "Characters to generate", 2000)
    before = page.locator("#text-out-low textarea").input_value()  # the last test's text, until this run clears it
    page.get_by_role("button", name="Generate").click()
    page.wait_for_function("before => { const text = document.querySelector('#text-out-low textarea').value;"
                           " return text.length >= 20 && !text.startsWith(before.slice(0, 20)); }", arg=before)
    visible_panel(page).get_by_role("button", name="Stop").click()
    page.get_by_text("Stopped after").wait_for()
    written = len(page.locator("#text-out-low textarea").input_value())
    assert 20 <= written < 2000 and f"Stopped after {written} of 2000 characters" in text_of(page, "text-info")
    # Stop, change a setting, run again: the new run starts and finishes
    set_number(page, "Characters to generate", 40)
    page.get_by_role("button", name="Generate").click()
    # the new run's info line (the seed it used) replaces the stopped run's
    page.wait_for_function("() => { const info = document.querySelector('#text-info').innerText;"
                           " return info.includes('Seed') && !info.includes('Stopped after'); }", timeout=60_000)


def test_a_non_image_upload_is_refused_at_once(page, pictures):
    page.get_by_role("tab", name="DeepDream").click()
    visible_panel(page).locator("input[type=file]").first.set_input_files(str(pictures / "notes.png"))
    page.get_by_text("not an image").first.wait_for()


def test_deep_dream_streams_visibly_stops_and_reopens_from_a_link(page, browser_context, pictures):
    page.get_by_role("tab", name="DeepDream").click()
    panel = visible_panel(page)
    panel.locator("input[type=file]").first.set_input_files(str(pictures / "cat.png"))
    panel.get_by_text("Settings", exact=True).click()
    set_number(page, "Octaves", 1)
    set_number(page, "Iterations per octave", 100)
    set_number(page, "Image size (longer side; larger inputs are downscaled)", 256)
    page.get_by_role("button", name="Dream", exact=True).click()
    # while it runs, the intermediate image is on screen and the progress line sits in the info panel
    page.locator("#dream-result img").wait_for()
    # the progress (step, time left) on its own line above the info, whose text it never covers
    page.locator("#dream-progress", has_text="octave 1/1 · step").wait_for()
    assert "octave 1/1" not in text_of(page, "dream-info")
    assert page.locator("#dream-result img").is_visible()
    page.screenshot(path=ARTIFACTS / "deepdream-running.png", full_page=True)
    panel.get_by_role("button", name="Stop").click()
    page.locator("#dream-info", has_text="Stopped after").wait_for()
    assert "of 100 steps" in text_of(page, "dream-info") and page.locator("#dream-result img").is_visible()

    set_number(page, "Iterations per octave", 3)
    page.get_by_role("button", name="Dream", exact=True).click()
    page.locator("#dream-info", has_text="Done in").wait_for()
    # offline, InceptionV3's trained weights cannot be had: the menu opened on the trained VGG19, and the info says why
    assert page.locator("#dream-backbone input").input_value() == "vgg19"
    assert "Weights: the Oxford/Caffe ImageNet VGG19" in text_of(page, "dream-info")
    assert "InceptionV3's trained weights cannot be had here" in text_of(page, "dream-info")
    assert "Seed " in text_of(page, "dream-info")
    page.screenshot(path=ARTIFACTS / "deepdream.png", full_page=True)

    reopened = share_and_reopen(page, browser_context)
    assert selected_tab(reopened) == "DeepDream"
    reopened.locator("#dream-result img").wait_for()
    assert reopened.locator("#dream-image img").count() == 1  # the input came back too
    assert "Done in" in text_of(reopened, "dream-info")
    reopened.screenshot(path=ARTIFACTS / "deepdream-reopened-from-link.png", full_page=True)
    reopened.close()


def test_style_tab_stop_then_paint_at_once_finishes_and_reopens_from_a_link(page, browser_context, pictures):
    panel = open_style_tab_with_cat_and_coffee(page, pictures)
    set_number(page, "Iterations", 400)
    set_number(page, "Output size (px)", 128)
    set_number(page, "Style strength", 2)  # log10 β/α: style 100× the content
    page.get_by_role("button", name="Paint").click()
    page.locator("#style-progress", has_text=" · step").wait_for()
    page.locator("#style-result img").wait_for()
    page.screenshot(path=ARTIFACTS / "style-running.png", full_page=True)
    # Stop, and Paint again at once (this used to leave the page on "Painting…" for minutes)
    panel.get_by_role("button", name="Stop").click()
    set_number(page, "Iterations", 4)
    page.get_by_role("button", name="Paint").click()
    page.locator("#style-info", has_text="Weighted losses at the end").wait_for(timeout=60_000)
    info = text_of(page, "style-info")
    assert "content 0 · style" in info and "Style strength β/α = 100" in info
    assert page.locator("#style-loss canvas, #style-loss svg").count() >= 1
    page.screenshot(path=ARTIFACTS / "style.png", full_page=True)

    reopened = share_and_reopen(page, browser_context)
    assert selected_tab(reopened) == "Style transfer"
    reopened.locator("#style-result img").wait_for()
    assert reopened.locator("#style-content img").count() == 1 and reopened.locator("#style-style img").count() == 1
    assert "Weighted losses at the end" in text_of(reopened, "style-info")
    assert reopened.locator("#style-loss canvas, #style-loss svg").count() >= 1
    reopened.screenshot(path=ARTIFACTS / "style-reopened-from-link.png", full_page=True)
    reopened.close()


def brush(page, canvas, start, end, steps=12):
    """Drags the mouse across `canvas` from `start` to `end` (fractions of its width and height)."""
    canvas.scroll_into_view_if_needed()  # the mouse only reaches what is on screen
    box = canvas.bounding_box()
    point = lambda f: (box["x"] + box["width"] * f[0], box["y"] + box["height"] * f[1])  # noqa: E731
    page.mouse.move(*point(start))
    page.mouse.down()
    for i in range(1, steps + 1):
        page.mouse.move(*point([a + (b - a) * i / steps for a, b in zip(start, end)]))
    page.mouse.up()


def test_stop_then_change_a_setting_then_paint_runs_the_new_paint(page):
    """The sequence a visitor reported: example 1, 60 iterations at 192 px, Stop while it runs, Iterations 5,
    Paint — the new run must start and finish."""
    page.get_by_role("tab", name="Style transfer").click()
    panel = visible_panel(page)
    panel.get_by_text("Examples").locator("xpath=..").locator("tbody tr").first.click()
    set_number(page, "Iterations", 60)
    set_number(page, "Output size (px)", 192)
    page.get_by_role("button", name="Paint", exact=True).click()
    page.locator("#style-progress", has_text=" · step").wait_for()
    page.wait_for_timeout(2000)
    panel.get_by_role("button", name="Stop").click()
    page.locator("#style-info", has_text="Stopped after").wait_for()
    set_number(page, "Iterations", 5)
    page.get_by_role("tab", name="DeepDream").click()  # wander off and come back, as a visitor does
    page.get_by_role("tab", name="Style transfer").click()
    page.get_by_role("button", name="Paint", exact=True).click()
    page.locator("#style-info", has_text="Weighted losses at the end").wait_for(timeout=60_000)
    assert "Stopped after" not in text_of(page, "style-info")
    # the first example is a real painting (The Starry Night), painted on the trained VGG19 with no download
    assert "Weights: the Oxford/Caffe ImageNet VGG19" in text_of(page, "style-info")
    assert "starry_night" in panel.locator("#style-style img").first.get_attribute("src")
    page.screenshot(path=ARTIFACTS / "style-stop-change-paint.png", full_page=True)


def test_style_by_a_brushed_region_then_continue(page, pictures):
    open_style_tab_with_cat_and_coffee(page, pictures)
    page.get_by_text("Style by region: brush where the style goes").click()
    canvas = page.locator("#style-mask canvas").first
    canvas.wait_for()
    # the canvas first shows the last test's example photo (fitted at ~37 %), then the 150 × 100 upload, which is
    # fitted by zooming in: strokes brushed before that swap would be wiped with the old picture
    page.wait_for_function("() => { const zoom = document.querySelector('#style-mask').innerText.match(/(\\d+)%/);"
                           " return zoom && +zoom[1] > 100; }")
    page.wait_for_function("() => document.querySelector('#style-estimate').innerText.includes('Paint will take about')")
    brush(page, canvas, (0.15, 0.2), (0.35, 0.8))
    page.wait_for_timeout(1500)  # the upload check's echo arrives: it must leave the strokes in place
    set_number(page, "Iterations", 6)
    set_number(page, "Output size (px)", 128)
    set_number(page, "Style strength", 2)
    page.get_by_role("button", name="Paint", exact=True).click()
    info_says(page, "style-info", "Styled by region: the painted region; the rest keeps the content")
    assert "before starting; took" in text_of(page, "style-info")
    page.get_by_role("button", name="Continue", exact=True).click()
    page.locator("#style-info", has_text="Continued for 6 more iterations at the final size from the last result").wait_for()
    page.locator("#style-info", has_text="Weighted losses at the end").wait_for()
    page.screenshot(path=ARTIFACTS / "style-region-continued.png", full_page=True)


def test_webcam_and_clipboard_fill_an_image_input(page, pictures):
    page.get_by_role("tab", name="Style transfer").click()
    content = page.locator("#style-content")
    if content.get_by_role("button", name="Clear").count():
        content.get_by_role("button", name="Clear").click()  # the last test's picture
    content.get_by_role("button", name="Capture from camera").click()
    content.get_by_text("Click to Access Webcam").click()
    content.locator("video").wait_for()  # the camera's stream must be playing before a snapshot has a picture
    page.wait_for_timeout(1000)
    content.get_by_role("button", name="capture photo").click()
    content.locator("img").wait_for()
    # a picture copied to the clipboard, pasted into the style input
    page.evaluate("""async () => {
        const canvas = document.createElement('canvas'); canvas.width = 96; canvas.height = 64;
        const context = canvas.getContext('2d');
        for (let x = 0; x < 96; x += 8) { context.fillStyle = x % 16 ? '#1040c0' : '#f0d020'; context.fillRect(x, 0, 8, 64); }
        const blob = await new Promise(resolve => canvas.toBlob(resolve, 'image/png'));
        await navigator.clipboard.write([new ClipboardItem({'image/png': blob})]);
    }""")
    style = page.locator("#style-style")
    style.get_by_role("button", name="Paste from clipboard").click()
    style.locator("img").wait_for()
    set_number(page, "Iterations", 3)
    set_number(page, "Output size (px)", 96)
    page.get_by_role("button", name="Paint", exact=True).click()
    page.locator("#style-info", has_text="Weighted losses at the end").wait_for()
    page.screenshot(path=ARTIFACTS / "style-webcam-and-clipboard.png", full_page=True)


def test_a_clip_is_styled_in_the_browser_with_its_frames_streaming(page, pictures):
    page.get_by_role("tab", name="Style transfer").click()
    page.get_by_text("Style a moving image").click()
    page.get_by_text("Example clip").locator("xpath=..").locator("td, button, img").first.click()
    from genmods.defaults import DEFAULTS

    page.wait_for_function("() => document.querySelector('#clip-estimate').innerText"
                           f".includes('Styling {DEFAULTS.clip_frames} frames')")
    set_number(page, "Frames (at most)", 4)
    set_number(page, "Frame size (px)", 96)
    page.get_by_label("number input for Iterations", exact=True).nth(1).fill("6")
    page.get_by_label("number input for Iterations", exact=True).nth(1).press("Enter")
    page.get_by_role("button", name="Style the clip", exact=True).click()
    page.locator("#clip-frame img").wait_for()  # the first finished frame, before the clip is done
    assert page.locator("#clip-info", has_text="frames per second").count() == 0
    page.screenshot(path=ARTIFACTS / "style-clip-running.png", full_page=True)
    page.locator("#clip-info", has_text="frames per second").wait_for()
    assert "4 of them, evenly spaced" in text_of(page, "clip-info")
    page.locator("#clip-video video").wait_for()
    page.locator('#clip-gif a[download="styled.gif"]').wait_for()
    page.screenshot(path=ARTIFACTS / "style-clip.png", full_page=True)
    # Stop the clip, change a setting, style it again: the new run finishes
    set_number(page, "Frames (at most)", 24)
    page.get_by_role("button", name="Style the clip", exact=True).click()
    page.locator("#clip-progress", has_text="frame").wait_for()
    page.locator("#style-clip-stop").click()
    page.locator("#clip-info", has_text="Stopped after").wait_for()
    set_number(page, "Frames (at most)", 3)
    page.get_by_role("button", name="Style the clip", exact=True).click()
    page.locator("#clip-info", has_text="3 frames at").wait_for(timeout=60_000)
    assert "Stopped after" not in text_of(page, "clip-info")


def test_inside_the_model_colours_the_text_by_surprisal_and_by_a_found_cell(page):
    page.get_by_role("tab", name="Text").click()
    page.get_by_text("Inside the model").click()
    page.get_by_role("button", name="Colour by surprisal").click()
    page.locator("#surprisal-info", has_text="bits per character").wait_for()
    shown = page.evaluate("() => [...document.querySelectorAll('#surprisal-view .textfield .text')]"
                          ".map(t => t.innerText).join('')")
    assert 'what is "truth"? the philosopher' in shown
    assert text_of(page, "surprisal-info").count("bits (p =") == 5
    # the newlines are seen: a ↵ mark, and the next line starts below the first (not run on after it)
    lines = page.evaluate("""() => {
        const tokens = [...document.querySelectorAll('#surprisal-view .textfield .text')];
        const mark = tokens.find(t => t.innerText.includes('↵'));
        const after = tokens[tokens.indexOf(mark) + 1];
        return [mark !== undefined, after.getBoundingClientRect().top > mark.getBoundingClientRect().top + 5,
                after.getBoundingClientRect().left < mark.getBoundingClientRect().left];
    }""")
    assert lines == [True, True, True], lines
    page.locator("#surprisal-view").scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "text-surprisal.png", full_page=True)
    page.get_by_role("button", name="Find cells").click()
    page.locator("#cell-info", has_text="Best cell for “inside quotes”").wait_for()
    page.locator("#cell-table").scroll_into_view_if_needed()
    page.locator("#cell-table [data-testid=cell-4-2]").wait_for()  # five rows: layer, cell, r
    layer, cell = (page.locator(f"#cell-table [data-testid=cell-2-{column}]").inner_text().strip() for column in (0, 1))
    page.locator("#cell-table [data-testid=cell-2-0]").click()  # jump to the third-best cell
    page.wait_for_function("document.querySelector('#cell-info').innerText.startsWith('Layer')")
    assert text_of(page, "cell-info").startswith(f"Layer {layer}, cell {cell} of the converged model")
    page.locator("#cell-view").scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "text-cells.png", full_page=True)


def test_colours_only_then_a_16_bit_download(page, pictures, tmp_path):
    open_style_tab_with_cat_and_coffee(page, pictures)
    page.locator("#style-colour").get_by_text("colours only, no painting").click()
    page.locator("#style-estimate", has_text="Colours only").wait_for()
    set_number(page, "Output size (px)", 2048)
    page.locator("#style-estimate", has_text="Colours only").wait_for()
    page.locator("#style-colour").get_by_text("the style's palette first (histogram)").click()
    page.locator("#style-estimate", has_text="tiles").wait_for()
    page.screenshot(path=ARTIFACTS / "style-large-estimate.png", full_page=True)
    page.locator("#style-colour").get_by_text("colours only, no painting").click()
    set_number(page, "Output size (px)", 640)
    page.get_by_role("button", name="Paint", exact=True).click()
    page.locator("#style-info", has_text="colors only").wait_for()
    download_button = page.locator("#style-png")
    download_button.wait_for()
    with page.expect_download() as download:
        download_button.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    import png

    width, height, _, info = png.Reader(filename=str(saved)).read()
    assert (width, max(width, height), info["bitdepth"]) == (640, 640, 16)
    page.screenshot(path=ARTIFACTS / "style-colours-only.png", full_page=True)


def test_stop_keeps_a_16_bit_download_and_the_time_left_is_said_once(page, pictures, tmp_path):
    open_style_tab_with_cat_and_coffee(page, pictures)
    page.locator("#style-colour").get_by_text("the style's", exact=True).click()
    set_number(page, "Iterations", 200)
    set_number(page, "Output size (px)", 192)
    page.get_by_role("button", name="Paint", exact=True).click()
    page.locator("#style-progress", has_text="left").wait_for()
    page.locator("#style-info", has_text="Painting…").wait_for()
    # one clock: the time left is on the progress line; the info holds the estimate made before the start
    assert "left (" not in text_of(page, "style-info") and "time left is on the progress line" in text_of(page, "style-info")
    page.screenshot(path=ARTIFACTS / "style-one-clock.png", full_page=True)
    visible_panel(page).get_by_role("button", name="Stop").first.click()  # the Paint's (the clip has its own)
    info_says(page, "style-info", "Stopped after")
    download_button = page.locator("#style-png")
    download_button.wait_for()
    assert "stopped run's image" in download_button.inner_text()
    with page.expect_download() as download:
        download_button.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    import png

    width, height, _, info = png.Reader(filename=str(saved)).read()
    assert info["bitdepth"] == 16 and f"{width}x{height}" in saved.name  # the image shown, at the scale it reached
    page.screenshot(path=ARTIFACTS / "style-stopped-16-bit.png", full_page=True)


def test_continue_on_a_reopened_link_continues_from_the_image_shown(page, browser_context):
    page.get_by_role("tab", name="Style transfer").click()
    visible_panel(page).get_by_text("Examples").locator("xpath=..").locator("tbody tr").first.click()
    page.locator("#style-colour").get_by_text("the style's", exact=True).click()
    set_number(page, "Iterations", 4)
    set_number(page, "Output size (px)", 192)
    page.get_by_role("button", name="Paint", exact=True).click()
    info_says(page, "style-info", "Weighted losses at the end")
    reopened = share_and_reopen(page, browser_context)
    reopened.locator("#style-result img").wait_for()
    reopened.get_by_role("button", name="Continue").click()
    info_says(reopened, "style-info", "from the image shown")
    assert "the optimiser starts afresh" in text_of(reopened, "style-info")
    reopened.locator("#style-info", has_text="Weighted losses at the end").wait_for(timeout=60_000)
    reopened.screenshot(path=ARTIFACTS / "style-continue-from-link.png", full_page=True)
    reopened.close()


def test_a_refused_input_is_marked_on_it_and_a_replaced_number_is_said(page, browser_context, app_url, pictures):
    # an empty prompt: the message on the text box, not "Error" on the three (untouched) result boxes
    page.get_by_role("tab", name="Text").click()
    prompt = page.get_by_label("Conditioning text")
    prompt.fill("")
    page.get_by_role("button", name="Generate").click()
    prompt_block = page.locator(".block", has=prompt)
    prompt_block.get_by_text("The conditioning text is empty").wait_for()
    assert not any("Error" in text_of(page, f"text-out-{name}") for name in ("low", "mid", "high"))
    # a typed number the slider replaces by its largest value: said under the slider until the box is edited again
    box = page.get_by_label("number input for Characters to generate", exact=True)
    box.click()
    box.press("Control+a")
    page.keyboard.type("99999")
    box.blur()
    page.locator(".genmods-adjusted", has_text="Characters to generate: 2000 is used (99999 is above the largest "
                                                "value, 2000)").wait_for()
    page.screenshot(path=ARTIFACTS / "refused-prompt-and-replaced-number.png", full_page=True)
    set_number(page, "Characters to generate", 40)
    assert page.locator(".genmods-adjusted").count() == 0
    # a seed a page cannot send exactly is marked on the seed box; fixed, the run goes through and the marks go
    seed = visible_panel(page).get_by_label("Random seed")
    seed.fill("123456789012345678901234567890")
    prompt.fill("the free spirit")
    page.get_by_role("button", name="Generate").click()
    seed_message = visible_panel(page).get_by_text("The random seed must be −1 (a new one each run) or a whole number")
    seed_message.wait_for()
    seed.fill("7")
    page.get_by_role("button", name="Generate").click()
    info_says(page, "text-info", "Seed 7")
    assert page.get_by_text("The conditioning text is empty").count() == 0 and seed_message.count() == 0
    # Dream without an image (a new visitor's page): said on the image input and in the info panel, and no "Error"
    # left on the result or the progress line
    fresh = browser_context.new_page()
    fresh.goto(app_url)
    fresh.get_by_role("tab", name="DeepDream").click()
    fresh.get_by_role("button", name="Dream", exact=True).click()
    fresh.locator("#dream-info", has_text="⚠️ Upload an image (or pick an example) to dream on.").wait_for()
    assert "Error" not in text_of(fresh, "dream-progress") + text_of(fresh, "dream-result")
    fresh.screenshot(path=ARTIFACTS / "dream-refused-without-an-image.png", full_page=True)
    # with a picture (150 × 100: a default Dream of a few seconds), the same button runs
    fresh.locator("#dream-image input[type=file]").set_input_files(str(pictures / "cat.png"))
    fresh.get_by_role("button", name="Dream", exact=True).click()
    info_says(fresh, "dream-info", "Done in")
    fresh.close()
