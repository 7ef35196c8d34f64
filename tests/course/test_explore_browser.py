"""``course explore`` in a real browser: draw with the mouse in Chromium, check what the page shows.

Playwright drives the system's Chromium (``executable_path``; no browser is downloaded). The
numbers the page shows are read back from the page itself (its canvases' pixels, its neurons'
``data-value``) and compared with what the course's NumPy code computes from the very pixels
drawn on the pad. Screenshots are kept in pytest's ``tmp_path``; set ``EXPLORE_SCREENSHOT=path.png``
to also write the first one there (that is how ``docs/explore.png`` is made).
"""
import os
import re
import shutil

import numpy as np
import pytest
from PIL import Image

from course.data import load_mnist
from course.explore.network import pretrained
from course.explore.preprocess import mnist_like
from course.explore.server import ExploreServer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # the dev extra installs it
    sync_playwright = None

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed, so the explorer can't be tested in a "
                                                "real browser here (Debian: apt-get install chromium; .ci/run installs it)"),
    pytest.mark.skipif(sync_playwright is None, reason="playwright is not installed (pip install -e '.[dev]'), so "
                                                       "the explorer can't be driven in a real browser here"),
]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def server():
    s = ExploreServer(pretrained()).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    """The explorer, loaded; ``page.requests`` lists every URL it asked for, ``page.errors`` its errors."""
    # bypass_csp: Playwright's own waiting helpers are scripts the page's policy would refuse
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, bypass_csp=True)
    p = context.new_page()
    p.requests, p.errors = [], []
    p.on("request", lambda r: p.requests.append(r.url))
    p.on("pageerror", lambda e: p.errors.append(str(e)))
    p.on("console", lambda m: m.type == "error" and p.errors.append(m.text))
    p.goto(server.url)
    p.wait_for_selector("body[data-ready=true]", state="attached")
    yield p
    context.close()


def draw(page, strokes):
    """Draw strokes (lists of (x, y) in the pad's 280×280 pixels) with real mouse events."""
    box = page.locator("#pad").bounding_box()
    for stroke in strokes:
        page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=8)
        page.mouse.up()
    settle(page)


def settle(page):
    page.wait_for_selector("body[data-busy=false]", state="attached", timeout=15000)


def pixels(page, selector: str) -> np.ndarray:
    """A canvas's RGBA pixels, (height, width, 4) uint8."""
    data = page.evaluate("""(sel) => { const c = document.querySelector(sel);
        return [c.width, c.height, Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)]; }""",
                         selector)
    width, height, flat = data
    return np.array(flat, dtype=np.uint8).reshape(height, width, 4)


def shown(page) -> dict:
    """What the page shows: the input as grey levels, each layer's neuron values, the output bars."""
    values = page.evaluate("""() => {
        const layers = {};
        document.querySelectorAll('circle.neuron').forEach((c) => {
            (layers[c.dataset.layer] = layers[c.dataset.layer] || [])[+c.dataset.index] = c.dataset.value; });
        const bars = Array.from(document.querySelectorAll('#outputs rect.bar'));
        return {layers: Object.keys(layers).sort().map((k) => layers[k]),
                bars: bars.map((b) => b.dataset.value),
                guess: bars.findIndex((b) => b.classList.contains('guess')),
                status: document.getElementById('status').textContent}; }""")
    values["input"] = pixels(page, "#input")[:, :, 0]
    return values


def as_shown(digit: np.ndarray) -> np.ndarray:
    return np.floor(digit * 255 + 0.5).astype(np.uint8)  # the page's Math.round(255 * v)


def check_page_shows(page, digit):
    """The page's input equals ``digit`` and its neurons equal the NumPy network's on it."""
    seen = shown(page)
    np.testing.assert_array_equal(seen["input"], as_shown(digit))
    layers = pretrained().forward(digit.reshape(784))
    for got, want in zip(seen["layers"], layers):
        np.testing.assert_allclose([float(v) for v in got], want, rtol=0, atol=1e-12)
    np.testing.assert_allclose([float(v) for v in seen["bars"]], layers[-1], rtol=0, atol=1e-12)
    assert seen["guess"] == int(np.argmax(layers[-1]))
    return seen


def screenshot(page, tmp_path, name):
    path = tmp_path / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 20_000
    return path


def test_a_vertical_stroke_is_read_as_a_1_and_the_page_shows_what_numpy_computes(page, server, tmp_path):
    draw(page, [[(140, 35), (142, 140), (141, 245)]])
    ink = pixels(page, "#pad")[:, :, 3]  # what was drawn: the pad's alpha channel
    assert ink.max() == 255 and (ink > 0).mean() < 0.2
    seen = check_page_shows(page, mnist_like(ink))
    assert seen["guess"] == 1 and seen["status"] == "The network reads a 1."
    assert page.errors == []
    assert all(url.startswith(server.url) for url in page.requests), page.requests  # nothing from elsewhere
    screenshot(page, tmp_path, "vertical-stroke")


def test_every_stroke_of_a_digit_is_read(page, tmp_path):
    """A 7 in two strokes; the page's last reading is of the whole drawing."""
    draw(page, [[(70, 60), (210, 60), (120, 240)], [(105, 150), (185, 150)]])
    seen = check_page_shows(page, mnist_like(pixels(page, "#pad")[:, :, 3]))
    assert seen["guess"] == 7
    screenshot(page, tmp_path, "seven")


def test_a_clicked_neuron_shows_its_weights(page, tmp_path):
    network = pretrained()
    draw(page, [[(80, 90), (110, 60), (160, 55), (195, 85), (190, 130), (150, 170), (100, 215), (90, 225),
                 (150, 222), (210, 220)]])  # a 2
    page.locator('circle.neuron[data-layer="1"][data-index="5"]').click()
    page.wait_for_selector('#neuron[data-layer="1"][data-index="5"] canvas.weights-image')
    assert page.inner_text("#neuron h3") == "Hidden layer 1, neuron 5"
    image = pixels(page, "#neuron canvas.weights-image").astype(int)  # PiYG: green > 0, pink < 0
    w = network.weights[0][5].reshape(28, 28)
    strong = np.abs(w) > 0.3 * np.abs(w).max()
    assert strong.sum() > 10
    assert np.all((image[:, :, 1] > image[:, :, 0])[strong] == (w > 0)[strong])
    push = w * mnist_like(pixels(page, "#pad")[:, :, 3])  # and weight × pixel, for the digit drawn
    image = pixels(page, "#neuron canvas.push-image").astype(int)
    strong = np.abs(push) > 0.3 * np.abs(push).max()
    assert strong.sum() > 5
    assert np.all((image[:, :, 1] > image[:, :, 0])[strong] == (push > 0)[strong])
    assert np.all(image[push == 0] == [247, 247, 247, 255])  # no ink, no push: white
    shot = screenshot(page, tmp_path, "first-layer-neuron")
    if os.environ.get("EXPLORE_SCREENSHOT"):  # for the README: 256 colours are plenty
        Image.open(shot).quantize(256).save(os.environ["EXPLORE_SCREENSHOT"], optimize=True)

    page.locator('circle.neuron[data-layer="2"][data-index="3"]').click()
    page.wait_for_selector('#neuron[data-layer="2"][data-index="3"] figure.feeder')
    feeders = page.eval_on_selector_all("#neuron figure.feeder", "els => els.map((e) => +e.dataset.index)")
    assert feeders == list(np.argsort(-np.abs(network.weights[1][3]))[:4])
    assert page.locator("#neuron canvas.feeder-image").count() == 4  # first-layer neurons: their pictures
    assert page.locator("#neuron .weight-strip span").count() == 16
    screenshot(page, tmp_path, "second-layer-neuron")

    page.locator("#neuron figure.feeder").first.click()  # a feeder opens that first-layer neuron
    page.wait_for_selector(f'#neuron[data-layer="1"][data-index="{feeders[0]}"] canvas.weights-image')


def test_a_test_digit_is_shown_exactly_and_read(page, tmp_path):
    page.click("#test-digit")
    settle(page)
    page.wait_for_function("document.getElementById('status').textContent.includes('labelled')")
    found = re.search(r"test digit #(\d+), labelled (\d)", page.inner_text("#status"))
    (_, _), (x_test, y_test) = load_mnist()
    index = int(found[1])
    assert int(found[2]) == y_test[index]
    check_page_shows(page, x_test[index] / 255.0)
    screenshot(page, tmp_path, "test-digit")


def test_clear_empties_the_page_without_a_number_left(page):
    draw(page, [[(140, 40), (140, 240)]])
    page.click("#clear")
    seen = shown(page)
    assert seen["status"].startswith("Draw a digit") and seen["guess"] == -1
    assert all(v == "" for layer in seen["layers"] for v in layer) and all(v == "" for v in seen["bars"])
    assert seen["input"].max() == 0 and pixels(page, "#pad")[:, :, 3].max() == 0
    assert "NaN" not in page.inner_text("body")


def test_the_page_fits_a_phone_screen(browser, server, tmp_path):
    context = browser.new_context(viewport={"width": 400, "height": 800}, is_mobile=True, has_touch=True)
    p = context.new_page()
    p.goto(server.url)
    p.wait_for_selector("body[data-ready=true]", state="attached")
    width, inner = p.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner, "the page scrolls sideways on a phone"
    p.screenshot(path=tmp_path / "phone.png", full_page=True)
    context.close()
