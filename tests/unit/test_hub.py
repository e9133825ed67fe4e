"""``hf:`` models (ponder.models.hub) against a Hugging Face cache built in a temporary folder.

The cache has the Hub client's own layout (``models--OWNER--REPO/{refs,blobs,snapshots}``) and holds
the real SmolLM2 GGUF, so the offline tests load and run a real model; nothing touches the network
(``HF_HUB_OFFLINE=1``, or an endpoint on a closed loopback port)."""

from __future__ import annotations

import pytest

from hub_helpers import FILES, REPO, fill_cache
from ponder import ConfigError, ModelNotFoundError, ModelUnavailableError
from ponder.models.hub import HubRef, choose, parse, resolve


def test_specs_parse_into_a_file_or_a_quantization():
    assert parse(f"{REPO}/model-Q4_1.gguf") == HubRef(REPO, file="model-Q4_1.gguf")
    assert parse(f"{REPO}/sub/dir/m.GGUF") == HubRef(REPO, file="sub/dir/m.GGUF")
    assert parse(f"{REPO}:q8_0") == HubRef(REPO, quant="q8_0")
    assert parse(REPO) == HubRef(REPO)
    for bad in ("", "justone", f"{REPO}/README.md", f"{REPO}/../x.gguf", f"{REPO}/a.gguf:Q4", "a/b:Q4 K", "/b/c.gguf"):
        with pytest.raises(ConfigError, match=r"hf: takes OWNER/REPO/FILE\.gguf or OWNER/REPO"):
            parse(bad)


def test_a_quantization_picks_one_gguf_or_one_set_of_shards():
    files = [
        "README.md",
        "m-Q4_K.gguf",
        "m-Q4_K_M.gguf",
        "m-q8_0.gguf",
        "mmproj-m-Q4_K_M.gguf",
        "big/m-F16-00002-of-00002.gguf",
        "big/m-F16-00001-of-00002.gguf",
    ]
    assert choose(files, HubRef("o/r")) == ["m-Q4_K_M.gguf"]  # the default, never the projector
    assert choose(files, HubRef("o/r", quant="Q4_K")) == ["m-Q4_K.gguf"]  # a whole word: not Q4_K_M
    assert choose(files, HubRef("o/r", quant="Q8_0")) == ["m-q8_0.gguf"]
    assert choose(files, HubRef("o/r", quant="f16")) == [
        "big/m-F16-00001-of-00002.gguf",
        "big/m-F16-00002-of-00002.gguf",
    ]
    assert choose(["only-IQ2_XS.gguf"], HubRef("o/r")) == ["only-IQ2_XS.gguf"]
    with pytest.raises(ModelNotFoundError, match=r"^o/r has no Q3_K_S GGUF; it has F16, Q4_K, Q4_K_M, q8_0: name one"):
        choose(files, HubRef("o/r", quant="Q3_K_S"))
    with pytest.raises(ModelNotFoundError, match=r"^o/r has no Q4_K_M GGUF; it has Q5_0, Q6_K"):
        choose(["a-Q5_0.gguf", "a-Q6_K.gguf"], HubRef("o/r"))
    with pytest.raises(ModelNotFoundError, match=r"several Q4_K_M GGUFs \(a-Q4_K_M.gguf, b-Q4_K_M.gguf\)"):
        choose(["a-Q4_K_M.gguf", "b-Q4_K_M.gguf"], HubRef("o/r"))
    with pytest.raises(ModelNotFoundError, match=r"^o/r has no GGUF file$"):
        choose(["README.md", "mmproj-f16.gguf"], HubRef("o/r"))


def test_files_and_quantizations_resolve_from_the_cache_offline(tmp_path):
    snapshot = fill_cache(tmp_path / "hub")
    cache = tmp_path / "hub"
    assert resolve(f"{REPO}/{FILES[1]}", cache_dir=cache, offline=True) == snapshot / FILES[1]
    assert resolve(f"{REPO}:Q4_1", cache_dir=cache, offline=True) == snapshot / FILES[0]
    assert resolve(f"{REPO}:q8_0", cache_dir=cache, offline=True) == snapshot / FILES[1]
    with pytest.raises(ModelNotFoundError, match="has no Q4_K_M GGUF; it has Q4_1, Q8_0: name one"):
        resolve(REPO, cache_dir=cache, offline=True)
    for spec in (f"{REPO}/other.gguf", "someone/else:Q4_1", "someone/else/m.gguf"):
        with pytest.raises(ModelUnavailableError) as caught:
            resolve(spec, cache_dir=cache, offline=True)
        assert str(caught.value) == (
            f"hf:{spec.split(':')[0]} is not in the Hugging Face cache and HF_HUB_OFFLINE is set: fetch it once online"
        )
    (snapshot / FILES[1]).resolve().unlink()  # a blob gone (a download interrupted): not cached
    with pytest.raises(ModelUnavailableError, match="is not in the Hugging Face cache"):
        resolve(f"{REPO}:Q8_0", cache_dir=cache, offline=True)
