"""The report page in a real headless browser (Chromium), and the UMAP map once (slow: numba compiles it)."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from testing_utils import slow

from ddcf.report.cli import main

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
BROWSER = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
require_browser = pytest.mark.skipif(
    BROWSER is None, reason="needs a headless Chromium (apt-get install chromium, or google-chrome) on PATH")

# Appended to a copy of the page: after load, list the images that did not decode (a missing or broken file
# has naturalWidth 0), so --dump-dom shows the browser's own verdict.
CHECK = ('<script>window.addEventListener("load",function(){var i=document.images,b=[];for(var k=0;k<i.length;'
         'k++){if(!(i[k].complete&&i[k].naturalWidth>0))b.push(i[k].getAttribute("src"));}var d=document.'
         'createElement("pre");d.id="ddcf-check";d.textContent="IMAGES "+i.length+" BROKEN ["+b.join(",")+"]";'
         'document.body.appendChild(d);});</script>')


def browse(page: Path, *args: str) -> str:
    r = subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
                        *args, page.as_uri()], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def verdict(page: Path) -> tuple[int, list[str]]:
    checked = page.with_name("check-" + page.name)
    checked.write_text(page.read_text().replace("</body>", CHECK + "</body>"))
    try:
        m = re.search(r"IMAGES (\d+) BROKEN \[([^\]]*)\]", browse(checked, "--dump-dom"))
    finally:
        checked.unlink()
    assert m, "the check script did not run"
    return int(m.group(1)), [s for s in m.group(2).split(",") if s]


@require_browser
def test_every_figure_loads_in_chromium(full_report, tmp_path):
    out = tmp_path / "rep"
    shutil.copytree(full_report[0], out)  # a copy: the end of the test breaks a figure on purpose
    page = out / "index.html"
    n_img = len(re.findall(r"<img ", page.read_text()))
    assert n_img == 5
    assert verdict(page) == (n_img, [])
    shot = tmp_path / "shot.png"
    browse(page, f"--screenshot={shot}", "--window-size=1200,2400")
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == (2400, 1200) and pixels.std() > 0.05  # something rendered, not a blank page
    # the check itself sees a broken figure
    (out / "jaccard.png").write_bytes(b"not a png")
    assert verdict(page) == (n_img, ["jaccard.png"])


# After load: the page's own width and the right edge of its widest table, in CSS pixels.
WIDTH = ('<script>window.addEventListener("load",function(){var r=0,t=document.querySelectorAll("table");for(var k=0;'
         'k<t.length;k++){r=Math.max(r,t[k].getBoundingClientRect().right);}var d=document.createElement("pre");'
         'd.id="ddcf-width";d.textContent="WIDTH "+document.documentElement.scrollWidth+" TABLES "+Math.ceil(r);'
         'document.body.appendChild(d);});</script>')


@require_browser
def test_page_fits_1400px_and_starts_with_the_answer(full_report, tmp_path):
    """At a 1,400 px window nothing is wider than the window (no sideways scrolling), the comparison table
    included, with the long selection labels of this report; the screenshot's top shows the verdict box."""
    out = tmp_path / "rep"
    shutil.copytree(full_report[0], out)
    page = out / "index.html"
    measured = out / "width-index.html"
    measured.write_text(page.read_text().replace("</body>", WIDTH + "</body>"))
    m = re.search(r"WIDTH (\d+) TABLES (\d+)", browse(measured, "--dump-dom", "--window-size=1400,1000"))
    assert m, "the width script did not run"
    assert int(m.group(1)) <= 1400 and 0 < int(m.group(2)) <= 1400
    shot = tmp_path / "top.png"
    browse(page, f"--screenshot={shot}", "--window-size=1400,900")
    import matplotlib.image

    top = matplotlib.image.imread(shot)[:, :, :3]
    # the verdict box's background (#f5f8fc) and its blue edge (#1f77b4) are on the first screen
    near = (lambda rgb: (np.abs(top - np.array(rgb) / 255).max(axis=2) < 0.02).sum())
    assert near((0xf5, 0xf8, 0xfc)) > 5000 and near((0x1f, 0x77, 0xb4)) > 500


@slow
def test_umap_map(work, tmp_path):
    layout, dirs = work
    out = tmp_path / "rep"
    assert main(["--workdir", str(layout.root), "--projection", "umap", "--no_progress", "--output_dir", str(out),
                 "--sweep_points", "0", *dirs[:2]]) == 0
    rep = json.loads((out / "report.json").read_text())
    assert rep["projection"]["method"] == "umap" and rep["projection"]["n_neighbors"] == 15
    cache = [p for p in layout.projection_cache("x").parent.glob("umap-*.npy")]
    coords = np.load(cache[0])
    assert coords.shape == (260, 2) and np.isfinite(coords).all()
