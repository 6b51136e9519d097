"""The three pages: served by both variants, and usable in a real browser as the docs describe."""

from __future__ import annotations

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait
from starlette.testclient import TestClient

from tests.target_app.conftest import RunningApp
from tests.target_app.wire import TIMEOUT_S


@pytest.mark.parametrize("path", ["/", "/items", "/chat"])
def test_pages_link_to_each_other(client: TestClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for link in ('href="/"', 'href="/items"', 'href="/chat"'):
        assert link in page.text


def test_socket_url_source(client: TestClient, variant: str) -> None:
    for path in ("/", "/items", "/chat"):
        hard_coded = "ws://localhost:8000" in client.get(path).text
        assert hard_coded is (variant == "docs")


def messages(driver: webdriver.Chrome) -> list[str]:
    return [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#messages li")]


def wait_for_messages(driver: webdriver.Chrome, count: int) -> list[str]:
    WebDriverWait(driver, TIMEOUT_S).until(lambda d: len(messages(d)) >= count)
    return messages(driver)


def send(driver: webdriver.Chrome, text: str) -> None:
    WebDriverWait(driver, TIMEOUT_S).until(
        lambda d: d.execute_script("return ws !== null && ws.readyState === WebSocket.OPEN"))
    box = driver.find_element(By.ID, "messageText")
    box.send_keys(text)
    box.submit()


@pytest.mark.browser
def test_echo_page_in_a_browser(chromium: webdriver.Chrome,
                                running_apps: dict[str, RunningApp]) -> None:
    chromium.get(running_apps["hardened"].server.url + "/")
    send(chromium, "hello from chromium")
    assert wait_for_messages(chromium, 1) == ["Message text was: hello from chromium"]


@pytest.mark.browser
def test_items_page_in_a_browser(chromium: webdriver.Chrome,
                                 running_apps: dict[str, RunningApp]) -> None:
    chromium.get(running_apps["hardened"].server.url + "/items")
    item = chromium.find_element(By.ID, "itemId")
    item.clear()
    item.send_keys("a b&c")
    chromium.find_element(By.XPATH, "//button[text()='Connect']").click()
    send(chromium, "hi")
    assert wait_for_messages(chromium, 2) == [
        "Session cookie or query token value is: some-key-token",
        "Message text was: hi, for item ID: a b&c"]


@pytest.mark.browser
def test_chat_page_in_a_browser(chromium: webdriver.Chrome,
                                running_apps: dict[str, RunningApp]) -> None:
    chromium.get(running_apps["hardened"].server.url + "/chat")
    client_id = chromium.find_element(By.ID, "ws-id").text
    assert client_id.isdigit()
    send(chromium, "hello room")
    assert wait_for_messages(chromium, 2) == [
        "You wrote: hello room", f"Client #{client_id} says: hello room"]


@pytest.mark.browser
def test_docs_page_cannot_connect_off_port_8000(chromium: webdriver.Chrome,
                                                running_apps: dict[str, RunningApp]) -> None:
    chromium.get(running_apps["docs"].server.url + "/")
    WebDriverWait(chromium, TIMEOUT_S).until(
        lambda d: d.execute_script("return ws.readyState === WebSocket.CLOSED"))  # nothing on :8000
