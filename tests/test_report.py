from __future__ import annotations

import base64
import csv
import io
import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from evonas.errors import ConfigError
from evonas.history import RunHistory
from evonas.report import Table, front_table, html_report, write_report
from tests.tables import finished_run


def test_front_table_lists_the_front_best_first_with_the_generation_that_found_it(synthetic_table, tmp_path):
    history = finished_run(synthetic_table, tmp_path / "run")
    by_acc = front_table(history)
    assert by_acc.header == ["arch", "acc", "params", "generation"]
    with open(tmp_path / "run" / "front.csv") as handle:
        assert [row[0] for row in by_acc.rows] == [row["arch"] for row in csv.DictReader(handle)]
    accs = [float(row[1]) for row in by_acc.rows]
    assert accs == sorted(accs, reverse=True)
    found = history.found_in()
    assert all(int(row[3]) == found[row[0]] for row in by_acc.rows)
    params = [float(row[2]) for row in front_table(history, "params").rows]
    assert params == sorted(params)
    with pytest.raises(ConfigError, match="cannot sort by 'energy'"):
        front_table(history, "energy")


def test_table_formats_parse_back():
    table = Table(["arch", "acc"], [["|a~0|", "93.5"], ["b", "91"]])
    assert list(csv.reader(io.StringIO(table.render("csv")))) == [table.header, *table.rows]
    assert json.loads(table.render("json")) == [{"arch": "|a~0|", "acc": 93.5}, {"arch": "b", "acc": 91}]
    # numbers become JSON numbers; an arch that looks like one (macro's digits) and empty cells stay text
    macro = Table(["arch", "params", "test_acc"], [["01201120", "3.2e+05", ""]])
    assert json.loads(macro.render("json")) == [{"arch": "01201120", "params": 320000.0, "test_acc": ""}]
    markdown = table.render("markdown").splitlines()
    assert markdown[1] == "| --- | --- |" and markdown[2] == "| \\|a~0\\| | 93.5 |"
    text = table.render("table").splitlines()
    assert text[0].split() == ["arch", "acc"] and text[2].split() == ["b", "91"]
    with pytest.raises(ConfigError, match="unknown format"):
        table.render("xml")


def embedded_images(page):
    return [base64.b64decode(data) for data in re.findall(r'src="data:image/png;base64,([^"]+)"', page)]


def test_html_report_is_self_contained_with_figures_and_the_front(synthetic_table, tmp_path):
    history = finished_run(synthetic_table, tmp_path / "run")
    page = html_report(history, extra_tables=[("Retraining", Table(["arch", "test acc"], [["01201201", "0.9"]]))])
    images = embedded_images(page)
    assert len(images) == 2 and all(image.startswith(b"\x89PNG") for image in images)
    assert "http" not in page.replace("http-equiv", "")  # nothing fetched from elsewhere
    assert page.count("<tr>") == 1 + len(history.config) + 1 + len(history.front_indices()) + 2
    assert "<h2>Retraining</h2>" in page and "01201201" in page


def colour_share(image, rgb, tolerance=0.06):
    return float(np.mean(np.all(np.abs(image[..., :3] - np.array(rgb) / 255) < tolerance, axis=-1)))


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (.ci/run installs Debian's package)")
def test_report_renders_in_a_headless_browser(synthetic_table, tmp_path):
    """Screenshots the report in headless Chromium: the figures' colours must be on screen."""
    import matplotlib.image

    finished_run(synthetic_table, tmp_path / "run")
    out = write_report(tmp_path / "run", tmp_path / "report.html")
    shot = tmp_path / "shot.png"
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1000,2200", f"--screenshot={shot}", out.as_uri()],
        check=True, capture_output=True, timeout=120,
    )
    image = matplotlib.image.imread(shot)
    assert image.shape[:2] == (2200, 1000)
    assert colour_share(image, (0xD6, 0x27, 0x28)) > 1e-4  # the final front's red line
    assert colour_share(image, (0x1F, 0x77, 0xB4)) > 1e-4  # the hypervolume curve's blue
    assert colour_share(image, (255, 255, 255)) < 0.97  # not a blank page


def test_report_of_a_table_run_reads_back_like_the_run(synthetic_table, tmp_path):
    finished_run(synthetic_table, tmp_path / "run")
    page = write_report(tmp_path / "run", tmp_path / "r.html").read_text()
    assert f"{len(RunHistory.load(tmp_path / 'run').rows)} architectures evaluated in 6 generations" in page
