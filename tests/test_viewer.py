"""The trace viewer: one self-contained HTML page per run, checked in real headless Chromium."""

from __future__ import annotations

import itertools
import os
import shutil

import pytest

from fanout_strategy import Fanout
from ponder import Budget, Engine, ScriptedModel, strategies
from ponder.cli import main
from ponder.store import RunStore
from ponder.viewer import build_tree, count_nodes, render_html

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


def tree_reply():
    counter = itertools.count()

    def reply(messages):
        n = next(counter)
        if "sure" in messages[-1].content.lower():
            return "likely"
        return f"1. idea {n}a\n2. idea {n}b"

    return reply


def expected_nodes(events) -> int:
    """Counted from the events directly: runs, distinct thoughts, calls, tool calls, other records."""
    runs = sum(e["type"] == "run_started" for e in events)
    thoughts = {(e["run_id"], e["data"]["node"]) for e in events if e["type"] == "step" and e["kind"] == "node"}
    calls = sum(e["type"] in ("model_call", "tool_call") for e in events)
    records = sum(e["type"] == "step" and e["kind"] != "node" for e in events)
    return runs + len(thoughts) + calls + records


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs.db")


@pytest.fixture
def tree_run(store):
    engine = Engine(ScriptedModel(tree_reply()), budget=Budget(max_steps=30), sinks=[store.sink()])
    result = engine.run(strategies.Tree(task="generic", branch=2, beam=2, depth=2), "Plan a picnic </script><b>x</b>")
    return result.run_id


def test_tree_of_thoughts_run_becomes_a_tree_of_thoughts(store, tree_run):
    events = store.events(tree_run)
    tree = build_tree(events)
    assert count_nodes(tree) == expected_nodes(events)
    [root_thought] = [c for c in tree["children"] if c["type"] == "thought"]
    assert root_thought["node"] == 0
    level1 = [c for c in root_thought["children"] if c["type"] == "thought"]
    assert [t["node"] for t in level1] == [1, 2]
    assert all(t["parent"] == 0 for t in level1)
    # the propose call for thought 0 hangs under it, the value call of thought 1 under thought 1
    assert [c["kind"] for c in root_thought["children"] if c["type"] == "call"] == ["propose"]
    assert "value" in [c["kind"] for c in level1[0]["children"] if c["type"] == "call"]


def test_child_runs_nest_and_batch_samples_are_siblings(store, echo_model):
    result = Engine(echo_model, sinks=[store.sink()]).run(Fanout(), "go")
    tree = build_tree(store.events(result.run_id))
    kinds = [c.get("kind") or c["type"] for c in tree["children"]]
    assert kinds == ["sample", "sample", "vote", "run"]
    child = tree["children"][3]
    assert child["question"] == "child: go" and child["stop_reason"]
    assert [c["kind"] for c in child["children"]][:3] == ["draft", "critique", "revision"]


def test_page_is_self_contained_and_escapes_the_run_text(store, tree_run):
    page = render_html(store.events(tree_run), store.run(tree_run))
    assert "http://" not in page and "https://" not in page and "<link" not in page
    assert page.count("</script>") == 2  # the data block and the script; the question's tag is escaped
    assert "{{" not in page


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
