"""A real browser (Debian's Chromium, driven by Playwright) opens the app, runs each tab with small
settings and sees the output appear. Screenshots land in test-artifacts/browser/."""

import shutil

import pytest
from PIL import Image

from .app_server import running_app
from .conftest import REPO

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts" / "browser"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian's chromium is not installed (.ci/run installs it)"),
]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with running_app() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.set_default_timeout(120_000)
        page.goto(url)
        page.get_by_text("Conditioning text").wait_for()
        yield page
        browser.close()


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    import skimage.data

    folder = tmp_path_factory.mktemp("pictures")
    Image.fromarray(skimage.data.chelsea()).resize((150, 100)).save(folder / "cat.png")
    Image.fromarray(skimage.data.coffee()).resize((120, 90)).save(folder / "coffee.png")
    return folder


def set_number(page, label: str, value):
    box = page.get_by_label(f"number input for {label}", exact=True)
    box.fill(str(value))
    box.press("Enter")


def visible_panel(page):
    return page.locator("[role=tabpanel]:visible").first


def test_text_tab_streams_three_columns(page):
    page.get_by_role("tab", name="Text").click()
    set_number(page, "Characters to generate", 60)
    page.get_by_role("button", name="Generate").click()
    columns = [page.locator("label", has_text=label).locator("textarea") for label in ("T = 0.2", "T = 0.5", "T = 1.0")]
    page.wait_for_function("el => el.value.length >= 60", arg=columns[0].element_handle())
    assert [len(column.input_value()) for column in columns] == [60, 60, 60]
    page.get_by_text("next character after the conditioning text").or_(page.locator("img[src*='data:image']")).first.wait_for()
    page.screenshot(path=ARTIFACTS / "text.png", full_page=True)


def test_deep_dream_tab_shows_the_dream(page, pictures):
    page.get_by_role("tab", name="DeepDream").click()
    panel = visible_panel(page)
    panel.locator("input[type=file]").first.set_input_files(str(pictures / "cat.png"))
    panel.get_by_text("Settings", exact=True).click()
    set_number(page, "Octaves", 1)
    set_number(page, "Iterations per octave", 2)
    set_number(page, "Image size (longer side; larger inputs are downscaled)", 128)
    page.get_by_role("button", name="Dream", exact=True).click()
    panel.get_by_text("Done in").wait_for()
    assert panel.get_by_text("Random weights").count() >= 1  # said plainly next to the output
    page.screenshot(path=ARTIFACTS / "deepdream.png", full_page=True)


def test_style_tab_shows_the_result(page, pictures):
    page.get_by_role("tab", name="Style transfer").click()
    panel = visible_panel(page)
    uploads = panel.locator("input[type=file]")
    uploads.nth(0).set_input_files(str(pictures / "cat.png"))
    uploads.nth(1).set_input_files(str(pictures / "coffee.png"))
    set_number(page, "Iterations", 4)
    set_number(page, "Output size (px)", 64)
    set_number(page, "Style strength", 2)  # log10 β/α: style 100× the content
    page.get_by_role("button", name="Paint").click()
    panel.get_by_text("Weighted losses at the end").wait_for()
    info = panel.get_by_text("Weighted losses at the start").inner_text()
    assert "content 0 · style" in info  # starting from the content image: no content loss yet
    assert panel.get_by_text("Style strength β/α = 100").count() == 1
    page.screenshot(path=ARTIFACTS / "style.png", full_page=True)
