"""Tests of tools/site.py: the staged sources, and the built website in headless Chromium.

The browser tests (marked `browser`) build the site and open every page; they run in CI's extra
pass (`make browser`), not in `make test`.
"""

import json
import re
import time
import urllib.parse
import urllib.request

import pytest

from tools import browser, explorers, site
from tools.course import NOTEBOOKS

SCREENSHOTS = site.BUILD_DIR / "site-screenshots"


def test_badges_become_plain_links_and_page_links_follow_the_flat_site():
    badges = (
        "[![Open in Colab](https://img/colab.svg)](https://colab/x) "
        "[![Launch on Binder](https://img/binder.svg)](https://binder/y)"
    )
    text = site._links(badges + " [map](notebooks/04_unet.ipynb#skips)", site._renames())
    assert text == (
        "[Open in Colab](https://colab/x) · [Launch on Binder](https://binder/y) "
        "[map](04_unet.ipynb#skips)"
    )
    assert site._links("[guide](../TEACHING.md)", site._renames()) == "[guide](teaching.md)"
    # A file of the repository that is not a page links to its copy on GitHub.
    linked = site._links("[cell](tools/course.py)", site._renames())
    assert linked == f"[cell]({site.REPOSITORY_URL}/tools/course.py)"
    assert site._links("[web](https://example.org/a.md)", site._renames()) == (
        "[web](https://example.org/a.md)"
    )
    # Links between pages of notebooks/ stay on the site.
    beside = "[04](04_unet.ipynb#skips) [S6](source_document.md) [zh](source_document.zh.md)"
    assert site._links(beside, site._renames(), site.NOTEBOOK_DIR) == (
        "[04](04_unet.ipynb#skips) [S6](source_document.md) [zh](source_document.zh.md)"
    )
    assert site._links("[g](notebooks/glossary.md)", site._renames()) == "[g](glossary.md)"


def test_readme_sections_are_found_or_named_missing():
    sections = site.readme_sections()
    assert list(sections) == list(site.SETUP_SECTIONS)
    assert all(text.startswith("## ") for text in sections.values())
    with pytest.raises(ValueError, match=r"no section\(s\) \['Nowhere'\]"):
        site.readme_sections(["Nowhere"])


def test_staged_sources_hold_every_page_without_remote_images(tmp_path):
    staged = site.stage(tmp_path / "src")
    names = {path.name for path in staged.iterdir()}
    expected = {f"{stem}.ipynb" for stem in NOTEBOOKS}
    expected |= {"index.md", "setup.md", "teaching.md", "conf.py", *site.PAGES}
    assert expected <= names
    for stem in NOTEBOOKS:
        notebook = json.loads((staged / f"{stem}.ipynb").read_text(encoding="utf-8"))
        markdown = "".join(
            "".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "markdown"
        )
        assert not re.search(r"!\[[^\]]*\]\(https?://", markdown), stem  # no remote image
        assert "](../" not in markdown and "](notebooks/" not in markdown, stem
    index = (staged / "index.md").read_text(encoding="utf-8")
    assert all(f"]({stem}.ipynb)" in index for stem in NOTEBOOKS)
    more = index.split(":caption: More\n:hidden:\n\n", 1)[1].split("\n```", 1)[0].split("\n")
    assert {page.removesuffix(".md") for page in site.PAGES} <= set(more)
    # The source document's account links its notebooks and the Chinese original on the site.
    account = (staged / "source_document.md").read_text(encoding="utf-8")
    assert "](04_unet.ipynb)" in account and "](source_document.zh.md)" in account


def test_staged_explorer_cells_become_the_static_explorer(tmp_path):
    staged = site.stage(tmp_path / "src")
    assert site.staged_explorers(staged) == ["conv", "upsampling", "latent"]
    for name, stem in explorers.NOTEBOOK_OF.items():
        cells = json.loads((staged / f"{stem}.ipynb").read_text(encoding="utf-8"))["cells"]
        (index,) = [i for i, cell in enumerate(cells) if site.explorer_of(cell) == name]
        assert cells[index]["outputs"] == []  # the live widget cannot run on the site
        block = "".join(cells[index + 1]["source"])
        assert block.startswith("```{raw} html") and f'data-explorer="{name}"' in block
        assert f'src="_static/explorers/{name}.js"' in block and "http" not in block


def test_stored_explorer_outputs_carry_a_static_picture():
    """Where widgets cannot run (nbconvert, a viewer), the explorer's output still shows a PNG."""
    for name, stem in explorers.NOTEBOOK_OF.items():
        cells = json.loads((site.NOTEBOOK_DIR / f"{stem}.ipynb").read_text(encoding="utf-8"))
        (cell,) = [c for c in cells["cells"] if site.explorer_of(c) == name]
        (output,) = cell["outputs"]
        assert {"application/vnd.jupyter.widget-view+json", "image/png"} <= set(output["data"])


# --- the built site in a real browser ------------------------------------------------------------


@pytest.fixture(scope="module")
def built_site():
    reason = browser.missing()
    if reason:
        pytest.fail(reason)  # CI installs the browser: its absence is a failure, not a skip
    landing = site.build()
    return landing.parent


@pytest.fixture(scope="module")
def site_browser(built_site):
    """A headless Chromium and the base URL of the built site, served on 127.0.0.1."""
    driver = browser.chromium()
    try:
        with browser.serve(built_site) as base:
            yield driver, base
    finally:
        driver.quit()


# The text of a page outside code, scripts and typeset math: where raw TeX would show.
VISIBLE_TEXT = """
const skip = new Set(['PRE', 'CODE', 'SCRIPT', 'STYLE', 'MJX-CONTAINER', 'TEXTAREA']);
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
const parts = [];
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  let parent = node.parentElement, hidden = false;
  while (parent) {
    if (skip.has(parent.tagName)) { hidden = true; break; }
    parent = parent.parentElement;
  }
  if (!hidden) parts.push(node.textContent);
}
return parts.join(' ');
"""

MATH_STATE = """
const boxes = Array.from(document.querySelectorAll('.math.notranslate'));
return {
  boxes: boxes.length,
  typeset: boxes.filter(b => b.querySelector('mjx-container')).length,
  errors: document.querySelectorAll('mjx-merror').length,
};
"""

IMAGES = """
return Array.from(document.images).map(i => ({src: i.src, ok: i.complete && i.naturalWidth > 0}));
"""


def _wait_for_math(driver, timeout=30):
    """Wait until MathJax (when the page loads it) has typeset the page; True if it did."""
    driver.set_script_timeout(timeout)
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "if (window.MathJax && MathJax.startup) { MathJax.startup.promise.then(() => done(true)); }"
        "else { done(false); }"
    )


def _check_links(base, pages, driver):
    """Every same-site link of the page resolves (HTTP 200), and so does its #fragment."""
    broken = []
    hrefs = driver.execute_script("return Array.from(document.links).map(a => a.href)")
    for href in hrefs:
        if not href.startswith(base):
            continue
        url, _, fragment = href.partition("#")
        path = urllib.parse.urlparse(url).path
        try:
            with urllib.request.urlopen(url) as response:
                body = response.read().decode("utf-8", "replace") if path.endswith(".html") else ""
        except OSError as error:
            broken.append(f"{href} ({error})")
            continue
        if fragment and f'id="{urllib.parse.unquote(fragment)}"' not in body:
            broken.append(f"{href} (no element with id {fragment!r})")
    return broken


def _severe(driver):
    """The console's SEVERE messages since the last call."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def _problems(driver, base, pages):
    """What is wrong with the page the driver shows (an empty list when nothing is)."""
    has_math = _wait_for_math(driver)
    found = [f"console: {message}" for message in _severe(driver)]
    raw = re.findall(r"\$[^$\n]{1,80}\$|\\\(|\\\[", driver.execute_script(VISIBLE_TEXT))
    found += [f"raw TeX left: {snippet!r}" for snippet in raw[:3]]
    math = driver.execute_script(MATH_STATE)
    if math["boxes"] and not has_math:
        found.append("formulas on the page but MathJax not loaded")
    if math["typeset"] != math["boxes"] or math["errors"]:
        found.append(f"math: {math}")
    images = driver.execute_script(IMAGES)
    found += [f"image did not load: {image['src']}" for image in images if not image["ok"]]
    return found + [f"broken link: {link}" for link in _check_links(base, pages, driver)]


@pytest.mark.browser
def test_every_page_loads_typesets_its_math_and_resolves_its_links(built_site, site_browser):
    driver, base = site_browser
    pages = sorted(p.relative_to(built_site).as_posix() for p in built_site.glob("*.html"))
    assert {f"{stem}.html" for stem in NOTEBOOKS} <= set(pages)
    problems = {}
    for page in pages:
        driver.get(f"{base}/{page}")
        found = _problems(driver, base, pages)
        if found:
            problems[page] = found
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for page in ("index.html", "02_upsampling_by_hand.html"):
        driver.get(f"{base}/{page}")
        _wait_for_math(driver)
        time.sleep(0.5)
        driver.save_screenshot(str(SCREENSHOTS / page.replace(".html", ".png")))
    assert not problems, json.dumps(problems, indent=1)[:4000]


@pytest.mark.browser
def test_notebook_pages_link_to_the_previous_and_the_next_in_order(site_browser):
    driver, base = site_browser
    order = ["index", *NOTEBOOKS, "glossary", "source_document"]
    for before, page, after in zip(order, order[1:], order[2:], strict=False):
        driver.get(f"{base}/{page}.html")
        links = driver.execute_script(
            "const get = c => (document.querySelector('a.' + c) || {}).href || '';"
            "return [get('prev-page'), get('next-page')];"
        )
        assert links == [f"{base}/{before}.html", f"{base}/{after}.html"], page


@pytest.mark.browser
def test_the_search_box_finds_pages_offline(site_browser):
    driver, base = site_browser
    driver.get(f"{base}/search.html?q=transposed+convolution")
    found = lambda: driver.execute_script(  # noqa: E731 (a condition, polled)
        "return Array.from(document.querySelectorAll('#search-results li a'))"
        ".map(a => a.getAttribute('href'))"
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not found():
        time.sleep(0.5)
    hits = found()
    assert any(h.startswith("02_upsampling_by_hand.html") for h in hits), hits
    assert not _severe(driver)


@pytest.mark.browser
def test_pages_that_have_formulas_really_typeset_them(site_browser):
    """A positive control: notebook 01 has formulas, and they come out as typeset math."""
    driver, base = site_browser
    driver.get(f"{base}/01_convolution_by_hand.html")
    assert _wait_for_math(driver)
    math = driver.execute_script(MATH_STATE)
    assert math["boxes"] > 50 and math["typeset"] == math["boxes"]
    # The source's formula: Y(i, j) typeset, with a sum sign drawn by MathJax's fonts.
    first = driver.find_element("css selector", ".math.notranslate mjx-container")
    assert first.size["width"] > 50 and first.size["height"] > 10


# An explorer on its page: its state, its picture (loaded?), its caption and controls.
EXPLORER = """
const box = document.querySelector('.course-explorer[data-ready]');
if (!box) return null;
const image = box.querySelector('img.course-explorer-picture');
return {
  state: box.getAttribute('data-state'),
  src: image.getAttribute('src'),
  loaded: image.complete && image.naturalWidth > 0,
  caption: box.querySelector('.course-explorer-caption').textContent,
  controls: Array.from(box.querySelectorAll('input, select')).map(c => c.name),
};
"""
EXPLORER_TOP = "return document.querySelector('.course-explorer').getBoundingClientRect().top;"
RESOURCES = "return performance.getEntriesByType('resource').map(entry => entry.name);"


def _explorer_shown(driver, different_from=None, timeout=20):
    """The explorer's state once its picture has loaded (and differs from `different_from`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown = driver.execute_script(EXPLORER)
        if (
            shown
            and shown["loaded"]
            and (not different_from or shown["src"] != different_from["src"])
        ):
            return shown
        time.sleep(0.2)
    pytest.fail(f"the explorer's picture did not load or change: {driver.execute_script(EXPLORER)}")


@pytest.mark.browser
@pytest.mark.parametrize(
    ("name", "control"), [("conv", "kernel_size"), ("upsampling", "strides"), ("latent", "z1")]
)
def test_explorers_work_on_the_site_without_a_kernel(site_browser, name, control):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    driver, base = site_browser
    driver.get(f"{base}/{explorers.NOTEBOOK_OF[name]}.html")
    first = _explorer_shown(driver)
    assert first["controls"] == list(explorers.GRIDS[name]), first
    # Moving a range control with the keyboard, as a reader would, shows another picture.
    slider = driver.find_element(By.CSS_SELECTOR, f".course-explorer input[name='{control}']")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", slider)
    slider.send_keys(Keys.ARROW_RIGHT)
    moved = _explorer_shown(driver, different_from=first)
    assert moved["state"] != first["state"] and moved["caption"] != first["caption"]
    if name == "upsampling":  # and a select control
        Select(driver.find_element(By.CSS_SELECTOR, "select[name='method']")).select_by_value(
            "nearest"
        )
        chosen = _explorer_shown(driver, different_from=moved)
        assert chosen["caption"].startswith("nearest")
    assert not _severe(driver)
    # Everything the page asked for came from the site itself.
    outside = [url for url in driver.execute_script(RESOURCES) if not url.startswith(base)]
    assert not outside, outside
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    _wait_for_math(driver)  # (typesetting moves what lies below it)
    for _ in range(10):  # images above it load lazily and move it: scroll until it stays
        top = driver.execute_script(
            "const box = document.querySelector('.course-explorer');"
            "window.scrollTo(0, box.getBoundingClientRect().top + window.scrollY - 20);"
            "return box.getBoundingClientRect().top;"
        )
        time.sleep(0.5)
        if abs(driver.execute_script(EXPLORER_TOP) - top) < 1:
            break
    driver.save_screenshot(str(SCREENSHOTS / f"explorer-{name}.png"))
