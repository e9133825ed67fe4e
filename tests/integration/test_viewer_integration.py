"""The trace viewer: one self-contained HTML page per run, checked in real headless Chromium.

These tests start a process, a server or a real model; the others are in tests/unit/test_viewer.py."""

from __future__ import annotations

import os
import shutil

import pytest

from fanout_strategy import Fanout
from ponder import Engine, strategies
from ponder.cli import main
from ponder.viewer import render_html
from viewer_helpers import expected_nodes

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# -- in a real browser ---------------------------------------------------------------


def _chromium() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (run scripts/install-system-deps.sh)")
        pytest.skip("chromium is not installed (scripts/install-system-deps.sh installs it; CI requires it)")
    return path


@pytest.fixture
def browser_page(tmp_path):
    chromium = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("the playwright package is not installed (pip install -e '.[dev]')")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh user data dir
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_FLAGS,
        )
        try:
            yield context.new_page()
        finally:
            context.close()


def _open(page, path):
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri())
    page.wait_for_selector("#tree li.node")
    return errors, requests


@pytest.mark.integration
def test_tree_of_thoughts_page_in_headless_chromium(capsys, store, tree_run, tmp_path, browser_page):
    out = tmp_path / "tree.html"
    assert main(["runs", "html", tree_run, "-o", str(out), "--store", str(store.path)]) == 0
    capsys.readouterr()
    errors, requests = _open(browser_page, out)
    page = browser_page
    assert errors == []
    assert requests == [out.as_uri()]  # nothing fetched from anywhere else
    events = store.events(tree_run)
    assert page.locator("li.node").count() == expected_nodes(events)
    assert page.locator("li.t-thought").count() == len({e["data"]["node"] for e in events if e.get("kind") == "node"})
    assert "Plan a picnic </script><b>x</b>" in page.locator("header h1").inner_text()
    assert "stop reason:" in page.locator("header").inner_text()
    # the tree is a tree: thought 1 sits inside thought 0
    assert page.locator("li.t-thought li.t-thought").count() >= 2
    # expanding a model call shows its exact prompt and output
    call = page.locator("li.t-call").first
    prompt = call.locator(":scope > .body .prompt")
    assert not prompt.is_visible()
    call.locator(":scope > .head").click()
    assert prompt.is_visible()
    first_call = next(e for e in events if e["type"] == "model_call")
    for message in first_call["messages"]:
        assert " ".join(message["content"].split()) in " ".join(prompt.inner_text().split())
    assert first_call["text"].split()[0] in call.locator(":scope > .body pre.output").inner_text()
    assert "tokens" in call.locator(":scope > .head .cost").inner_text()


@pytest.mark.integration
def test_refine_and_child_run_pages_in_headless_chromium(store, echo_model, tmp_path, browser_page):
    engine = Engine(echo_model, sinks=[store.sink()])
    for strategy, question in ((strategies.Refine(max_rounds=2), "Why is the sky blue?"), (Fanout(), "go")):
        run_id = engine.run(strategy, question).run_id
        out = tmp_path / f"{strategy.name}.html"
        out.write_text(render_html(store.events(run_id), store.run(run_id)), encoding="utf-8")
        errors, _ = _open(browser_page, out)
        assert errors == []
        events = store.events(run_id)
        assert browser_page.locator("li.node").count() == expected_nodes(events)
        nested = browser_page.locator("li.t-run li.t-run").count()
        assert nested == sum(e["type"] == "run_started" and e["depth"] > 0 for e in events)
    browser_page.click("#expand-all")
    assert browser_page.locator("li.node.open").count() == browser_page.locator("li.node").count()
