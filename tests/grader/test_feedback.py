"""``feedback/<student>.html``: structure, escaping, pictures, and a real headless-browser rendering."""
import base64
import json
import os
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser

import pytest

from course import exercises
from grader.authoring import samples

from .conftest import QUOTED_NAME, UNDECODABLE_NAME, grade_cli

# Mistakes whose failing exercise must come with a picture (exercise-specific or generic).
PICTURED = {
    "a1_neuron": {"used_tanh": "sigmoid", "relu_clipped": "relu", "forgot_sigmoid": "neuron",
                  "region_transposed": "edge_detector", "forgot_bias": "weighted_input",
                  "overflowing_sigmoid": "sigmoid"},
}


class Page(HTMLParser):
    """The tags of a page, and the exercise sections with what they contain."""

    def __init__(self, text):
        super().__init__()
        self.tags, self.sections, self._section = [], {}, None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "section" and "exercise" in (attrs.get("class") or ""):
            self._section = attrs["data-exercise"]
            self.sections[self._section] = {"passed": attrs["data-passed"] == "true", "images": [], "text": ""}
        elif tag == "img" and self._section:
            self.sections[self._section]["images"].append(attrs["src"])

    def handle_endtag(self, tag):
        if tag == "section":
            self._section = None

    def handle_data(self, data):
        if self._section:
            self.sections[self._section]["text"] += data


def png_size(uri: str) -> tuple[int, int]:
    assert uri.startswith("data:image/png;base64,")
    data = base64.b64decode(uri.split(",", 1)[1], validate=True)
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def pages(graded):
    return {os.fsdecode(p.name)[:-5]: p for p in (graded.out / "feedback").iterdir()}


@pytest.mark.parametrize("assignment_id", exercises.IDS)
def test_every_student_gets_one_self_contained_page(graded_class, assignment_id):
    graded = graded_class(assignment_id)
    found = pages(graded)
    assert set(found) == set(graded.expected)
    for student, path in found.items():
        text = path.read_bytes().decode("utf-8")  # valid UTF-8, whatever the folder name was
        page = Page(text)
        assert text.startswith("<!doctype html>") and ("meta", {"charset": "utf-8"}) in page.tags
        assert not [t for t, _ in page.tags if t in ("script", "link", "iframe", "object")], student
        for tag, attrs in page.tags:
            for key in ("src", "href"):
                value = attrs.get(key)
                assert value is None or value.startswith(("data:image/png;base64,", "#")), (student, value)


@pytest.mark.parametrize("assignment_id", exercises.IDS)
def test_sections_agree_with_the_results_json(graded_class, assignment_id):
    graded = graded_class(assignment_id)
    assignment = exercises.assignment(assignment_id)
    for student, path in pages(graded).items():
        results = json.loads((graded.out / "results" / path.with_suffix(".json").name).read_text())
        page = Page(path.read_text(encoding="utf-8"))
        statuses = {t["name"]: t["status"] == "passed" for t in results["tests"]}
        for name, section in page.sections.items():
            assert section["passed"] == statuses[name], (student, name)
            points = assignment[name].points
            assert f"{graded.expected[student][name]:g} / {points:g} points" in section["text"], (student, name)
        if not results["extra_data"]["problem"]:
            assert set(page.sections) == set(assignment.names), student


@pytest.mark.parametrize("assignment_id", exercises.IDS)
def test_mistakes_show_their_hint_and_pictures_only_where_failing(graded_class, assignment_id):
    graded = graded_class(assignment_id)
    found = pages(graded)
    pictured = PICTURED.get(assignment_id, {})
    for name, mistake in samples.MISTAKES.get(assignment_id, {}).items():
        if name == "infinite_loop":
            continue
        page = Page(found[f"mistake_{name}"].read_text(encoding="utf-8"))
        section = page.sections[mistake.function]
        assert not section["passed"]
        if mistake.hint:
            hint = next(h for h in exercises.assignment(assignment_id)[mistake.function].hints if h.name == mistake.hint)
            assert f"Hint: {hint.message}" in section["text"]
        if name in pictured:
            assert len(section["images"]) == 1, f"{name}: expected a picture of {pictured[name]}"
        for uri in section["images"]:
            width, height = png_size(uri)
            assert width >= 300 and height >= 200
        for other, s in page.sections.items():
            assert s["passed"] == (other != mistake.function)
            if s["passed"]:
                assert not s["images"], f"{other} passed: no picture needed"


def test_awkward_names_are_escaped_and_readable(graded_class):
    graded = graded_class(exercises.IDS[0])
    quoted = (graded.out / "feedback" / f"{QUOTED_NAME}.html").read_text(encoding="utf-8")
    assert "Zoë O&#x27;Brien, &quot;Z&quot; &lt;b&gt;&amp;amp;" in quoted and "<b>" not in quoted
    undecodable = os.fsdecode(UNDECODABLE_NAME)
    page = (graded.out / "feedback" / f"{undecodable}.html").read_bytes().decode("utf-8")
    assert "caf\ufffd: " in page


def test_no_pictures_flag_leaves_them_out(tmp_path):
    assignment_id = exercises.IDS[0]
    pictured = PICTURED.get(assignment_id) or {n: m.function for n, m in samples.MISTAKES[assignment_id].items()}
    for name in list(pictured)[:2]:
        mistake = samples.MISTAKES[assignment_id][name]
        samples.write_py(tmp_path / "class" / name, assignment_id, {mistake.function: mistake.source})
    proc = grade_cli("grade", assignment_id, str(tmp_path / "class"), "--out", str(tmp_path / "out"), "--no-pictures")
    assert proc.returncode == 0, proc.stderr
    for path in (tmp_path / "out" / "feedback").iterdir():
        page = Page(path.read_text(encoding="utf-8"))
        assert not [t for t, _ in page.tags if t == "img"]
        assert any(not s["passed"] for s in page.sections.values())


# --- a real browser --------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed, so pages can't be rendered in a real browser here "
                             "(Debian: apt-get install chromium; .ci/run installs it)")

# Appended to a copy of the page: once everything has loaded, report what the browser made of it.
PROBE = """<script>
window.addEventListener('load', function () {
  var r = {images: Array.from(document.images).map(function (i) {
             return {complete: i.complete, natural: i.naturalWidth, shown: i.getBoundingClientRect().width}; }),
           sections: Array.from(document.querySelectorAll('section.exercise')).map(function (s) {
             return {name: s.dataset.exercise, passed: s.dataset.passed === 'true',
                     height: s.getBoundingClientRect().height}; }),
           score: document.getElementById('score') && document.getElementById('score').textContent,
           scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth};
  var pre = document.createElement('pre'); pre.id = 'browser-check'; pre.textContent = JSON.stringify(r);
  document.body.appendChild(pre);
});
</script>"""


def chromium(url: str, profile, *args: str) -> str:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
           f"--user-data-dir={profile}", *args, url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def browser_check(path, tmp_path, width: int) -> dict:
    probe = tmp_path / f"probe-{width}.html"
    probe.write_text(path.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = chromium(probe.as_uri(), tmp_path / "profile", f"--window-size={width},2000",
                   "--virtual-time-budget=5000", "--dump-dom")
    found = re.search(r'<pre id="browser-check">(.*?)</pre>', dom, re.S)
    assert found, "the page did not finish loading in Chromium"
    import html

    return json.loads(html.unescape(found.group(1)))


@needs_chromium
@pytest.mark.parametrize("student", ["mistake_used_tanh", "mistake_region_transposed", QUOTED_NAME])
def test_chromium_renders_the_page_with_its_pictures(graded_class, tmp_path, student):
    graded = graded_class("a1_neuron")
    path = graded.out / "feedback" / f"{student}.html"
    results = json.loads((graded.out / "results" / f"{student}.json").read_text())
    tests = [t for t in results["tests"] if t["visibility"] == "visible"]  # not the hidden cases' details
    for width in (1000, 480):
        seen = browser_check(path, tmp_path, width)
        assert [s["name"] for s in seen["sections"]] == [t["name"] for t in tests]
        assert [s["passed"] for s in seen["sections"]] == [t["status"] == "passed" for t in tests]
        assert seen["score"].endswith(f"{results['score']:g} / {exercises.assignment('a1_neuron').max_score:g} points")
        assert seen["scrollWidth"] <= seen["innerWidth"], f"the page scrolls sideways at {width}px"
        for image in seen["images"]:
            assert image["complete"] and image["natural"] >= 300, "a picture did not decode"
            assert 0 < image["shown"] <= seen["innerWidth"]
    if student != QUOTED_NAME:
        assert seen["images"], "a failing exercise with a picture"
    # for a person to look at: pytest keeps tmp_path for the last runs
    chromium(path.as_uri(), tmp_path / "profile", "--window-size=1000,2600", f"--screenshot={tmp_path / 'page.png'}")
    assert (tmp_path / "page.png").stat().st_size > 10_000
