"""NotebookStore: publish, republish, unpublish, list, errors, restarts, leftovers, threads."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyterhub_saturn.gallery.errors import InvalidField, InvalidNotebook, NotAuthor, NotebookTooLarge, UnknownNotebook
from jupyterhub_saturn.gallery.store import NotebookStore, Record

from .hostile import benign_notebook, hostile_notebooks
from ..property_budget import examples

ENV = {"image": "saturn/python:2024.1", "size": "medium", "gpu": "none"}


class Clock:
    def __init__(self):
        self.now = 1_700_000_000.0

    def __call__(self):
        self.now += 1.0
        return self.now


def nb_with(text: str) -> dict:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text)])
    nb.cells[0]["id"] = "c0"
    return json.loads(json.dumps(nb))


@pytest.fixture
def store(tmp_path):
    return NotebookStore(tmp_path / "gallery", clock=Clock())


def test_publish_get_read(store):
    rec = store.publish(benign_notebook(), author="alice", environment=ENV, description="Q3 numbers")
    assert isinstance(rec, Record)
    assert rec.id.startswith("quarterly-report-") and rec.title == "Quarterly report"
    assert rec.author == "alice" and rec.environment == ENV and rec.description == "Q3 numbers"
    assert rec.created == rec.updated
    assert store.get(rec.id) == rec
    data = store.read_notebook(rec.id)
    assert hashlib.sha256(data).hexdigest() == rec.sha256 and len(data) == rec.size
    nbformat.validate(nbformat.reads(data.decode(), as_version=4))
    js = rec.to_json()
    assert js["created"].endswith("Z") and js["environment"] == ENV and js["id"] == rec.id


def test_explicit_title_and_filename(store):
    rec = store.publish(nb_with("no heading"), author="alice", title="My *great* analysis")
    assert rec.title == "My great analysis" and rec.id.startswith("my-great-analysis-")
    rec = store.publish(nb_with("no heading"), author="alice", filename="/home/alice/Fancy Plot.ipynb")
    assert rec.title == "Fancy Plot"


def test_republish_keeps_id_and_created(store):
    first = store.publish(nb_with("# One"), author="alice", environment=ENV, description="d1")
    second = store.publish(nb_with("# Two"), author="alice", id=first.id)
    assert second.id == first.id and second.created == first.created
    assert second.updated > first.updated and second.version != first.version
    assert second.title == "Two" and second.description == "d1" and second.environment == ENV
    assert b"# Two" in store.read_notebook(first.id)
    third = store.publish(nb_with("# Three"), author="alice", id=first.id, environment={}, description="")
    assert third.environment == {} and third.description == ""
    assert len(store.list()) == 1


def test_republish_by_other_user_is_403_admin_allowed(store):
    rec = store.publish(nb_with("# Mine"), author="alice")
    with pytest.raises(NotAuthor) as err:
        store.publish(nb_with("# Stolen"), author="mallory", id=rec.id)
    assert err.value.status == 403 and "alice" in err.value.text
    assert b"Mine" in store.read_notebook(rec.id)
    fixed = store.publish(nb_with("# Fixed by admin"), author="root", id=rec.id, admin=True)
    assert fixed.author == "alice" and fixed.updated_by == "root"


def test_republish_unknown_id_is_404(store):
    with pytest.raises(UnknownNotebook) as err:
        store.publish(nb_with("# x"), author="alice", id="nothing-here-12345678")
    assert err.value.status == 404


def test_unpublish(store):
    rec = store.publish(nb_with("# Bye"), author="alice")
    with pytest.raises(NotAuthor):
        store.unpublish(rec.id, user="bob")
    assert store.unpublish(rec.id, user="alice") == rec
    for call in (store.get, store.read_notebook):
        with pytest.raises(UnknownNotebook):
            call(rec.id)
    assert store.list() == []
    assert not any((store.root / "notebooks").iterdir()) and not any((store.root / "trash").iterdir())
    other = store.publish(nb_with("# Admin removes"), author="alice")
    store.unpublish(other.id, user="admin", admin=True)
    with pytest.raises(UnknownNotebook):
        store.unpublish(other.id, user="alice")


def test_list_sorted_by_updated_desc_and_by_author(store):
    a = store.publish(nb_with("# A"), author="alice")
    b = store.publish(nb_with("# B"), author="bob")
    c = store.publish(nb_with("# C"), author="alice")
    assert [r.id for r in store.list()] == [c.id, b.id, a.id]
    store.publish(nb_with("# A2"), author="alice", id=a.id)
    assert [r.id for r in store.list()] == [a.id, c.id, b.id]
    assert [r.id for r in store.list(author="bob")] == [b.id]


@pytest.mark.parametrize("bad", ["../x", "%2e%2e", "/etc/passwd", "x\x00-12345678", "..", "A-12345678"])
def test_lookups_with_bad_ids_never_touch_the_filesystem(store, bad, monkeypatch):
    touched = []
    real_open = open
    monkeypatch.setattr("pathlib.Path.read_bytes", lambda self: touched.append(self) or real_open(self, "rb").read())
    for call in (store.get, store.read_notebook, lambda i: store.unpublish(i, user="x"),
                 lambda i: store.publish(nb_with("# x"), author="x", id=i)):
        with pytest.raises(InvalidField) as err:
            call(bad)
        assert err.value.status == 400 and err.value.field == "id"
    assert touched == []


def test_errors_for_bad_notebooks(store):
    with pytest.raises(InvalidNotebook) as err:
        store.publish(b"not json", author="alice")
    assert err.value.status == 400
    small = NotebookStore(store.root / "small", max_bytes=1000)
    with pytest.raises(NotebookTooLarge) as err:
        small.publish(nb_with("x" * 2000), author="alice")
    assert err.value.status == 413 and "1000 bytes" in err.value.text
    assert store.list() == [] and small.list() == []


@pytest.mark.parametrize("kwargs, field", [
    ({"author": ""}, "author"),
    ({"author": "a\x00b"}, "author"),
    ({"author": 5}, "author"),
    ({"author": "alice", "description": "x" * 2001}, "description"),
    ({"author": "alice", "description": 5}, "description"),
    ({"author": "alice", "environment": ["image"]}, "environment"),
    ({"author": "alice", "environment": {"Image!": "x"}}, "environment"),
    ({"author": "alice", "environment": {"image": 5}}, "environment.image"),
    ({"author": "alice", "environment": {"image": "x" * 201}}, "environment.image"),
    ({"author": "alice", "title": "   "}, "title"),
])
def test_bad_fields_name_the_field(store, kwargs, field):
    with pytest.raises(InvalidField) as err:
        store.publish(nb_with("# x"), **kwargs)
    assert err.value.status == 400 and err.value.field == field
    assert store.list() == []


def test_survives_restart(tmp_path):
    s1 = NotebookStore(tmp_path / "g")
    rec = s1.publish(benign_notebook(), author="alice", environment=ENV)
    data = s1.read_notebook(rec.id)
    s2 = NotebookStore(tmp_path / "g")
    assert s2.get(rec.id) == rec and s2.read_notebook(rec.id) == data and s2.list() == [rec]


def test_hostile_corpus_publishes(store):
    for name, nb in hostile_notebooks().items():
        rec = store.publish(nb, author="mallory", filename=f"{name}.ipynb")
        assert store.get(rec.id).title
    assert len(store.list()) == len(hostile_notebooks())


def test_only_two_versions_kept(store):
    rec = store.publish(nb_with("# v1"), author="alice")
    for i in range(2, 6):
        store.publish(nb_with(f"# v{i}"), author="alice", id=rec.id)
    files = sorted(p.name for p in (store.root / "notebooks" / rec.id).glob("*.ipynb"))
    assert len(files) == 2 and store.get(rec.id).version + ".ipynb" in files


def test_leftovers_of_interrupted_operations_are_swept(tmp_path):
    s = NotebookStore(tmp_path / "g")
    rec = s.publish(nb_with("# keep"), author="alice")
    d = tmp_path / "g" / "notebooks"
    stale = d / rec.id / ".record.json.abc.tmp"
    stale.write_bytes(b"{half")
    orphan = d / "half-created-12345678"
    orphan.mkdir()
    (orphan / "000001-deadbeef.ipynb").write_bytes(b"{}")
    fresh_orphan = d / "being-created-12345678"
    fresh_orphan.mkdir()
    (tmp_path / "g" / "trash" / "gone.1234").mkdir()
    old = time.time() - 7200
    for p in (stale, orphan):
        os.utime(p, (old, old))
    s2 = NotebookStore(tmp_path / "g")
    assert not stale.exists() and not orphan.exists()
    assert fresh_orphan.exists()  # could be a publish in progress elsewhere
    assert not any((tmp_path / "g" / "trash").iterdir())
    assert [r.id for r in s2.list()] == [rec.id]
    with pytest.raises(UnknownNotebook):
        s2.get("being-created-12345678")


def test_damaged_record_is_404_not_500(store):
    rec = store.publish(nb_with("# x"), author="alice")
    (store.root / "notebooks" / rec.id / "record.json").write_text('{"format": 1, "id": "other"}')
    with pytest.raises(UnknownNotebook, match="damaged"):
        store.get(rec.id)
    assert store.list() == []


def test_checksum_mismatch_is_detected(store):
    rec = store.publish(nb_with("# x"), author="alice")
    (store.root / "notebooks" / rec.id / f"{rec.version}.ipynb").write_bytes(b"{}")
    with pytest.raises(UnknownNotebook, match="damaged"):
        store.read_notebook(rec.id)


def test_concurrent_republish_and_read(store):
    rec = store.publish(nb_with("# v0"), author="alice")
    errors = []
    stop = threading.Event()

    def writer(n):
        try:
            for i in range(15):
                store.publish(nb_with(f"# w{n} {i}"), author="alice", id=rec.id)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    def reader():
        while not stop.is_set():
            try:
                r, data = store.read(rec.id)
                assert hashlib.sha256(data).hexdigest() == r.sha256
                assert f"# {r.title}".encode() in data
            except Exception as e:  # noqa: BLE001
                errors.append(e)
                return

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)] + [threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads[:3]:
        t.join(timeout=120)
    stop.set()
    threads[3].join(timeout=60)
    assert errors == []
    assert int(store.get(rec.id).version.split("-")[0]) == 1 + 45


@settings(max_examples=examples(40), deadline=None)
@given(st.text(max_size=60))
def test_fuzz_ids_on_a_real_store(tmp_path_factory, value):
    store = NotebookStore(tmp_path_factory.getbasetemp() / "fuzz")
    try:
        store.get(value)
    except InvalidField as err:
        assert err.field == "id"
    except UnknownNotebook:
        pass


@pytest.mark.parametrize("kwargs, field", [
    ({"title": "\udfff"}, "title"),
    ({"title": "a\x1b[31mred"}, "title"),
    ({"title": "x\u202eexe.txt"}, "title"),
    ({"title": "t" * 1001}, "title"),
    ({"description": "ok\udfffno"}, "description"),
    ({"description": "bell\x07"}, "description"),
    ({"description": "\u2067rtl"}, "description"),
    ({"filename": "\udfff.ipynb"}, "filename"),
    ({"filename": "a\x00.ipynb"}, "filename"),
])
def test_unpublishable_text_is_refused_naming_the_field(store, kwargs, field):
    with pytest.raises(InvalidField) as err:
        store.publish(nb_with("# x"), author="alice", **kwargs)
    assert err.value.status == 400 and err.value.field == field
    assert store.list() == []


def test_notebook_nested_too_deep_is_400_not_recursion(store):
    deep = b'{"cells": [], "metadata": {"x": ' + b"[" * 100_000 + b"]" * 100_000 + b'}, "nbformat": 4, "nbformat_minor": 5}'
    with pytest.raises(InvalidNotebook) as err:
        store.publish(deep, author="alice")
    assert err.value.status == 400 and err.value.field == "notebook" and "levels deep" in err.value.text


@pytest.mark.parametrize("change", [
    {"title": "\udfff"},
    {"description": "a\u202eb"},
    {"author": "x\x00"},
    {"environment": {"image": "\udfff"}},
    {"updated": 1e300},
    {"created": float("nan")},
    {"size": float("inf")},
    {"title": {"deep": [[[[]]]]}},
])
def test_hostile_stored_record_is_skipped_and_logged(store, change, caplog):
    good = store.publish(nb_with("# good"), author="alice")
    bad = store.publish(nb_with("# bad"), author="alice")
    path = store.root / "notebooks" / bad.id / "record.json"
    data = json.loads(path.read_text())
    data.update(change)
    path.write_text(json.dumps(data))
    assert [r.id for r in store.list()] == [good.id]
    with pytest.raises(UnknownNotebook, match="damaged"):
        store.get(bad.id)
    assert "damaged gallery record" in caplog.text
    for record in store.list():
        json.dumps(record.to_json(), ensure_ascii=False).encode("utf-8")


def test_record_nested_too_deep_for_the_parser_is_skipped(store):
    bad = store.publish(nb_with("# bad"), author="alice")
    (store.root / "notebooks" / bad.id / "record.json").write_text("[" * 100_000 + "]" * 100_000)
    assert store.list() == []


def test_tags_are_stored_kept_on_republish_and_replaced_when_given(store):
    rec = store.publish(nb_with("# Tagged"), author="prof", tags="Physics, waves")
    assert rec.tags == ("physics", "waves") and rec.to_json()["tags"] == ["physics", "waves"]
    again = store.publish(nb_with("# Tagged v2"), author="prof", id=rec.id)
    assert again.tags == ("physics", "waves")
    assert store.publish(nb_with("# Tagged v3"), author="prof", id=rec.id, tags=[]).tags == ()
    with pytest.raises(InvalidField) as e:
        store.publish(nb_with("# Bad"), author="prof", tags=["no spaces"])
    assert e.value.field == "tags"


def test_edit_changes_title_description_tags_but_not_the_notebook(store):
    rec = store.publish(nb_with("# Original"), author="prof", description="old", tags=["a"])
    _, before = store.read(rec.id)
    edited = store.edit(rec.id, user="prof", title="Better title", tags="b, c")
    assert (edited.title, edited.description, edited.tags) == ("Better title", "old", ("b", "c"))
    assert edited.version != rec.version and edited.created == rec.created and store.read(rec.id)[1] == before
    assert store.edit(rec.id, user="prof", description="new").title == "Better title"
    with pytest.raises(NotAuthor):
        store.edit(rec.id, user="mallory", title="mine now")
    assert store.edit(rec.id, user="root", admin=True, tags=[]).tags == ()
    for kwargs, field in (({"title": "  "}, "title"), ({"description": 5}, "description"), ({"tags": 5}, "tags"),
                          ({"title": "a\u202eb"}, "title")):
        with pytest.raises(InvalidField) as e:
            store.edit(rec.id, user="prof", **kwargs)
        assert e.value.field == field
    with pytest.raises(UnknownNotebook):
        store.edit("nope-abcdefgh", user="prof", title="x")


def test_records_without_tags_still_load(store):
    rec = store.publish(nb_with("# Old"), author="prof")
    path = store.root / "notebooks" / rec.id / "record.json"
    data = json.loads(path.read_text())
    del data["tags"]
    path.write_text(json.dumps(data))
    assert store.get(rec.id).tags == ()


def test_stored_record_with_bad_tags_is_damaged_not_400(store):
    rec = store.publish(nb_with("# Tags"), author="prof")
    path = store.root / "notebooks" / rec.id / "record.json"
    data = json.loads(path.read_text())
    data["tags"] = ["<script>"]
    path.write_text(json.dumps(data))
    with pytest.raises(UnknownNotebook):
        store.get(rec.id)
    assert store.list() == []
