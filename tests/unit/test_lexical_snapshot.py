"""The saved BM25 snapshot is memory-mapped read-only, stays right through changes and is never mis-read.

A loaded index reads its postings, lengths, documents and sorted chunk ids and terms from the snapshot's
files (shared page cache for the processes of one host); changes never write into them: they go to new
arrays, as in an index built in memory. Every result is compared with an index built in memory from
the same chunks.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from retrieval import lexical as lexical_module
from retrieval.lexical import MANIFEST, LexicalIndex, _Keys
from tests.unit.test_lexical_index import QUERIES, by_id, corpus


def state(index: LexicalIndex) -> dict[str, object]:
    """Everything a reader sees: ids, scores per query, documents, a permission mask's ids, top hits."""
    documents = sorted({index.document_of(chunk_id) or "" for chunk_id in index.ids})
    allowed = frozenset(documents[::2])
    return {
        "ids": sorted(index.ids),
        "scores": {tuple(q): by_id(index, q) for q in QUERIES},
        "documents": {chunk_id: index.document_of(chunk_id) for chunk_id in index.ids},
        "visible": sorted(index.ids_where(index.mask_for(allowed))),
        "top": [(hit.chunk_id, round(hit.score, 5)) for hit in index.search(["휴가", "규정"], 5)],
        "versions": (index.version, index.dictionary_version, index.document_versions),
    }


def same(left: LexicalIndex, right: LexicalIndex) -> None:
    a, b = state(left), state(right)
    assert a["ids"] == b["ids"] and a["documents"] == b["documents"] and a["visible"] == b["visible"]
    assert a["versions"] == b["versions"]
    for query, scores in a["scores"].items():  # type: ignore[attr-defined]
        assert scores == pytest.approx(b["scores"][query])  # type: ignore[index]
    assert [hit[0] for hit in a["top"]] == [hit[0] for hit in b["top"]]  # type: ignore[attr-defined]


def saved(tmp_path: Path, seed: int = 1, n: int = 120) -> LexicalIndex:
    index = LexicalIndex()
    index.build(*corpus(seed, n), version=4)
    index.document_versions = {f"d{seed}-{i}": f"v{i}" for i in range(n // 4)}
    index.dictionary_version = 2
    index.save(tmp_path)
    return index


def mapped_arrays(index: LexicalIndex) -> list[np.ndarray]:
    segment = index._segments[0]
    return [
        segment.starts,
        segment.rows,
        segment.counts,
        index._lengths,
        index._doc_of_row,
        index._ids._sorted,
        index._vocabulary._sorted,
    ]


def test_a_loaded_snapshot_is_mapped_read_only_and_answers_as_the_saved_index(tmp_path: Path) -> None:
    original = saved(tmp_path)
    loaded = LexicalIndex()
    assert loaded.load(tmp_path)
    for array in mapped_arrays(loaded):
        assert isinstance(array, np.memmap) and not array.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            array[:1] = array[:1]
    same(original, loaded)


def test_a_mapped_snapshot_stays_right_after_add_remove_and_compact(tmp_path: Path) -> None:
    in_memory = saved(tmp_path)
    mapped = LexicalIndex()
    assert mapped.load(tmp_path)
    files = {p: p.read_bytes() for p in tmp_path.glob("snapshot-*/*.npy")}
    before = mapped.copy()
    steps = [
        lambda ix: ix.add(*corpus(50, 12, prefix="n")),
        lambda ix: ix.add(["c1-3", "c1-7"], [["휴가", "휴가"], ["새말"]], ["d1-0", "d9-9"]),  # replaced
        lambda ix: ix.remove_documents(["d1-2", "d1-5", "d9-9"]),
        lambda ix: ix.remove_ids(["c1-40", "n50-3", "없는-id"]),
        lambda ix: ix.compact(),
        lambda ix: ix.add(*corpus(51, 8, prefix="m")),
        lambda ix: ix.remove_documents([f"d1-{i}" for i in range(10, 20)]),  # past the dead share: compacts
    ]
    for step in steps:
        step(in_memory)
        step(mapped)
        same(in_memory, mapped)
    assert "새말" in mapped._vocabulary and mapped.document_of("c1-7") is None  # re-added, then removed
    assert {p: p.read_bytes() for p in tmp_path.glob("snapshot-*/*.npy")} == files, "files never written"
    reloaded = LexicalIndex()
    assert reloaded.load(tmp_path)
    same(before, reloaded)  # the copy taken before the changes is unchanged
    mapped.save(tmp_path)  # saving a changed mapped index replaces the snapshot it reads from
    again = LexicalIndex()
    assert again.load(tmp_path)
    same(in_memory, again)
    same(in_memory, mapped)


def test_a_mapped_snapshot_keeps_answering_after_another_process_saves(tmp_path: Path) -> None:
    original = saved(tmp_path)
    mapped = LexicalIndex()
    assert mapped.load(tmp_path)
    (old_snapshot,) = tmp_path.glob("snapshot-*")
    script = (
        "import sys; from pathlib import Path; from retrieval.lexical import LexicalIndex; "
        "from tests.unit.test_lexical_index import corpus; "
        "i = LexicalIndex(); i.build(*corpus(7, 60), version=9); i.save(Path(sys.argv[1]))"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, cwd=Path.cwd())
    assert not old_snapshot.exists(), "the other process's save removed the files this one maps"
    same(original, mapped)  # the unlinked files live on while mapped
    mapped.add(*corpus(52, 4, prefix="p"))
    original.add(*corpus(52, 4, prefix="p"))
    same(original, mapped)
    theirs = LexicalIndex()
    assert theirs.load(tmp_path)
    expected = LexicalIndex()
    expected.build(*corpus(7, 60), version=9)
    same(expected, theirs)


@pytest.mark.parametrize("damage", ["truncated", "one byte changed", "emptied", "missing"])
def test_a_damaged_snapshot_file_is_rejected(tmp_path: Path, damage: str) -> None:
    saved(tmp_path)
    for path in sorted(tmp_path.glob("snapshot-*/*.npy")):
        data = path.read_bytes()
        if damage == "truncated":
            path.write_bytes(data[: len(data) - 1])
        elif damage == "one byte changed":
            middle = len(data) - 1 if len(data) > 128 else len(data) // 2  # in the data, past the header
            path.write_bytes(data[:middle] + bytes([data[middle] ^ 0x10]) + data[middle + 1 :])
        elif damage == "emptied":
            path.write_bytes(b"")
        else:
            path.unlink()
        assert not LexicalIndex().load(tmp_path), f"{path.name} {damage}"
        path.write_bytes(data)
        assert LexicalIndex().load(tmp_path)


def test_arrays_that_do_not_fit_together_are_rejected_even_with_a_matching_checksum(tmp_path: Path) -> None:
    saved(tmp_path)
    manifest = json.loads((tmp_path / MANIFEST).read_text(encoding="utf-8"))
    (rows,) = tmp_path.glob("snapshot-*/rows.npy")
    np.save(rows, np.load(rows)[:-1])  # one posting short, with a manifest that vouches for it
    manifest["files"]["rows"] = {"bytes": rows.stat().st_size, "crc32": zlib.crc32(rows.read_bytes())}
    (tmp_path / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    assert not LexicalIndex().load(tmp_path)


def test_an_older_format_is_not_loaded(tmp_path: Path) -> None:
    saved(tmp_path)
    manifest = json.loads((tmp_path / MANIFEST).read_text(encoding="utf-8"))
    (tmp_path / MANIFEST).write_text(json.dumps(manifest | {"format": 2}), encoding="utf-8")
    assert not LexicalIndex().load(tmp_path)


def test_an_empty_index_saves_and_loads(tmp_path: Path) -> None:
    LexicalIndex().save(tmp_path)
    loaded = LexicalIndex()
    assert loaded.load(tmp_path) and len(loaded) == 0 and loaded.search(["휴가"], 5) == []
    loaded.add(["a"], [["휴가"]], ["d"])
    assert [hit.chunk_id for hit in loaded.search(["휴가"], 5)] == ["a"]


def test_keys_find_frozen_and_added_strings() -> None:
    keys = _Keys.of(["b", "가나", "a" * 10, "c"])
    keys.append(["d", "b"])  # "b" again: found at its last place
    assert keys.find(["b", "가나", "a" * 10, "a" * 11, "a", "d", "없음"]).tolist() == [5, 1, 2, -1, -1, 4, -1]
    assert keys.get("c") == 3 and keys.get("a" * 11) is None and "가나" in keys and "x" not in keys
    assert keys.at([1, 4, 0, 5]) == ["가나", "d", "b", "b"]
    assert keys.places_of(["c", "e", "f", "e"]).tolist()[:3] == [3, 6, 7]
    assert len(keys) == 8
    frozen = _Keys.frozen_from(keys.arrays()["sorted"][keys.arrays()["ranks"]])
    assert frozen.at(range(8)) == keys.at(range(8))


def test_lookups_of_ids_of_every_length(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(lexical_module, "MAX_SEGMENTS", 2)
    index = LexicalIndex()
    ids = ["x", "0123456789abcdef0123456789abcdef", "x2", "키-1"]
    index.build(ids, [["휴가"]] * 4, ["d1", "d1", "d2", "d3"])
    index.save(tmp_path)
    loaded = LexicalIndex()
    assert loaded.load(tmp_path)
    assert loaded.documents_of([*ids, "0123456789abcdef0123456789abcdef0", ""]) == [
        "d1",
        "d1",
        "d2",
        "d3",
        None,
        None,
    ]
    loaded.add(["0123456789abcdef0123456789abcdef-longer"], [["출장"]], ["d4"])
    assert loaded.document_of("0123456789abcdef0123456789abcdef-longer") == "d4"
    assert loaded.row_of("x") is not None and loaded.row_of("nope") is None


def test_a_merge_block_by_block_equals_one_block(monkeypatch: pytest.MonkeyPatch) -> None:
    def changed() -> LexicalIndex:
        index = LexicalIndex()
        index.build(*corpus(3, 200))
        index.add(*corpus(4, 30, prefix="q"))
        index.remove_documents(["d3-1", "d3-7", "d4-2"])
        index.compact()
        return index

    whole = changed()
    monkeypatch.setattr(lexical_module, "MERGE_BLOCK", 7)  # blocks end inside terms' runs
    blocks = changed()
    (mine,), (theirs,) = whole._segments, blocks._segments
    for field in ("starts", "rows", "counts"):
        assert np.array_equal(getattr(mine, field), getattr(theirs, field))
    same(whole, blocks)


def test_adds_in_bulk_equal_one_add_and_merge_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lexical_module, "MAX_SEGMENTS", 2)
    merges: list[int] = []
    real = lexical_module._merged

    def counted(*args: Any) -> Any:
        merges.append(1)
        return real(*args)

    monkeypatch.setattr(lexical_module, "_merged", counted)
    whole = LexicalIndex()
    whole.build(*corpus(11, 90))
    merges.clear()
    batched = LexicalIndex()
    ids, tokens, documents = corpus(11, 90)
    with batched.bulk():
        for start in range(0, 90, 10):
            batched.add(ids[start : start + 10], tokens[start : start + 10], documents[start : start + 10])
        assert len(batched._segments) == 9 and merges == []
    assert len(merges) == 1 and len(batched._segments) <= 2
    same(whole, batched)
