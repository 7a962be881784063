"""Nearest-item search: exact numpy, and FAISS (exact Flat, then IVF with 8-bit codes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clustering.search import (
    FAISS_FILE,
    ExactSearch,
    FaissSearch,
    build_faiss,
    excluded_positions,
    factory_string,
    load_searcher,
    wants_faiss,
)
from stylescout.settings import SearchConfig

faiss = pytest.importorskip("faiss", reason="faiss-cpu is not installed (make setup-scale)")


def clustered(n: int, d: int = 64, groups: int = 40, seed: int = 0) -> np.ndarray:
    """Unit vectors in groups, like image descriptors (random vectors have no neighbours)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(groups, d))
    x = centres[rng.integers(groups, size=n)] + 0.35 * rng.normal(size=(n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_the_config_picks_exact_then_ivf_or_hnsw() -> None:
    cfg = SearchConfig(exact_up_to=1000)
    assert factory_string(1000, 64, cfg) == "Flat"
    assert factory_string(40_000, 64, cfg) == "IVF200,SQ8"
    assert factory_string(40_000, 64, SearchConfig(exact_up_to=0, kind="hnsw")) == "HNSW32,SQ8"
    assert factory_string(40_000, 64, SearchConfig(exact_up_to=0, storage="fp16")).endswith("fp16")
    assert not wants_faiss(10, SearchConfig()) and wants_faiss(10, SearchConfig(engine="faiss"))
    assert wants_faiss(SearchConfig().faiss_from + 1, SearchConfig())
    assert not wants_faiss(10**7, SearchConfig(engine="numpy"))


def test_faiss_flat_gives_the_exact_answer_with_exclusions(tmp_path: Path) -> None:
    x = clustered(3000)
    built = build_faiss(x, SearchConfig(engine="faiss"), tmp_path)
    assert built.factory == "Flat" and built.recall_at_10 is None
    searcher = load_searcher(tmp_path, x, SearchConfig())
    assert isinstance(searcher, FaissSearch)
    exact = ExactSearch(x)
    for q in (0, 17, 2999):
        leave_out = np.array([q, q // 2])
        want, want_d2 = exact.search(x[q], 10, leave_out)
        got, got_d2 = searcher.search(x[q], 10, leave_out)
        assert list(got) == list(want)
        np.testing.assert_allclose(got_d2, want_d2, atol=1e-4)
        assert q not in got and q // 2 not in got


def test_ivf_with_8_bit_codes_finds_most_of_the_exact_neighbours(tmp_path: Path) -> None:
    x = clustered(20_000)
    cfg = SearchConfig(engine="faiss", exact_up_to=1000, nprobe=16, recall_queries=100)
    built = build_faiss(x, cfg, tmp_path)
    assert built.factory.startswith("IVF") and built.factory.endswith("SQ8")
    assert built.recall_at_10 is not None and built.recall_at_10 >= 0.9
    assert built.bytes < x.nbytes / 2  # 8-bit codes: about a quarter of float32
    assert "recall@10" in built.summary()
    searcher = load_searcher(tmp_path, x, cfg)  # memory-mapped from the folder
    got, d2 = searcher.search(x[5], 10, np.array([5]))
    assert len(got) == 10 and 5 not in got and np.all(np.diff(d2) >= -1e-6)


def test_without_a_faiss_file_or_with_a_stale_one_search_is_exact(tmp_path: Path) -> None:
    x = clustered(500)
    assert isinstance(load_searcher(tmp_path, x, SearchConfig()), ExactSearch)
    build_faiss(x[:400], SearchConfig(engine="faiss"), tmp_path)
    assert (tmp_path / FAISS_FILE).is_file()
    assert isinstance(load_searcher(tmp_path, x, SearchConfig()), ExactSearch)  # 400 ≠ 500 rows
    assert isinstance(load_searcher(tmp_path, x[:400], SearchConfig(engine="numpy")), ExactSearch)


def test_excluded_ids_become_rows() -> None:
    ids = np.array([3, 5, 9, 12], np.int64)
    assert list(excluded_positions(ids, [9, 4, 3, 100])) == [2, 0]
    assert list(excluded_positions(ids, [])) == []


def test_a_broken_faiss_file_or_a_missing_faiss_falls_back_to_exact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    x = clustered(300)
    (tmp_path / FAISS_FILE).write_bytes(b"IwSq not really an index")
    assert isinstance(load_searcher(tmp_path, x, SearchConfig()), ExactSearch)
    monkeypatch.setitem(__import__("sys").modules, "faiss", None)
    assert not wants_faiss(SearchConfig().faiss_from + 1, SearchConfig())  # auto, no extra


def test_distances_hold_for_a_query_that_is_not_unit_length(tmp_path: Path) -> None:
    x = clustered(2000)
    build_faiss(x, SearchConfig(engine="faiss"), tmp_path)
    query = 0.5 * x[3] + 0.2 * x[4]
    _, want = ExactSearch(x).search(query, 5)
    _, got = load_searcher(tmp_path, x, SearchConfig()).search(query, 5)
    np.testing.assert_allclose(got, want, atol=1e-4)
