"""The rendered pages in a real headless Chromium: no console errors, every chart drawn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from reports.history import write_history
from reports.render import render_run
from tests.reports.conftest import MakeRun
from tests.reports.test_render import CHART_IDS

pytestmark = pytest.mark.browser


@pytest.fixture
def browser(chromium: Any) -> Any:
    return chromium


def open_page(driver: Any, path: Path) -> list[dict[str, Any]]:
    """Load a file:// page; return the console entries logged while it loaded."""
    driver.get_log("browser")
    driver.get(path.resolve().as_uri())
    return list(driver.get_log("browser"))


def assert_charts_drawn(driver: Any, chart_ids: tuple[str, ...]) -> None:
    for chart_id in chart_ids:
        svg = driver.find_element(By.CSS_SELECTOR, f"svg#{chart_id}")
        assert svg.find_element(By.TAG_NAME, "title").get_attribute("textContent")
        assert svg.size["width"] > 300
        assert svg.size["height"] > 50


def test_the_report_renders_without_console_errors(browser: Any, make_run: MakeRun,
                                                   junit_xml: Path) -> None:
    html_path, _ = render_run(make_run(), junit=junit_xml)
    log = open_page(browser, html_path)
    assert [e for e in log if e["level"] == "SEVERE"] == []
    assert browser.title == "wsharness load run run-1"
    assert_charts_drawn(browser, CHART_IDS)
    lines = browser.find_elements(By.CSS_SELECTOR, "svg#chart-hdr-rtt polyline")
    assert len(lines) == 1
    assert len(lines[0].get_attribute("points").split()) > 50
    rows = browser.find_elements(By.CSS_SELECTOR, "#conformance-groups tbody tr")
    groups = [r.find_element(By.TAG_NAME, "td").text for r in rows]
    assert groups == ["test_chat", "test_echo", "test_framing"]


def test_the_history_page_renders_without_console_errors(browser: Any,
                                                         make_run: MakeRun) -> None:
    for name in ("a", "b"):
        render_run(make_run(name))
    page, _ = write_history(make_run("c").parent)
    log = open_page(browser, page)
    assert [e for e in log if e["level"] == "SEVERE"] == []
    assert_charts_drawn(browser, ("chart-history-rtt", "chart-history-throughput"))
    links = browser.find_elements(By.CSS_SELECTOR, "#history-runs a")
    assert len(links) == 2
    links[0].click()
    assert browser.title == "wsharness load run run-1"
