"""kill -9 in the middle of publishing leaves every record readable: the old version or the new one.

A forked child publishes and republishes multi-megabyte notebooks in a loop, logging
"begin"/"done" for each operation; the test SIGKILLs it, reopens the store from disk, and
checks every record (checksum, nbformat validity, metadata matching content) and that each id
holds exactly its last committed or its in-flight version.

Half the rounds kill at a random moment (anywhere in the loop); the other half kill at a
fault-injection point: the child's ``os.fsync`` of the k-th file it writes tells the parent it
is inside a write (temp file written, not yet renamed) and waits there to be killed. So every
run kills inside a version-file write and inside a record write, however loaded the machine.
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import stat
import time

import nbformat
import pytest

from jupyterhub_saturn.gallery.store import NotebookStore

pytestmark = pytest.mark.processes  # kills a forked publisher

ROUNDS = 10


def _notebook(seq: int, size: int) -> dict:
    nb = nbformat.v4.new_notebook(metadata={"crash_test": {"seq": seq}})
    nb.cells = [nbformat.v4.new_markdown_cell(f"# Crash {seq}"),
                nbformat.v4.new_code_cell("print(big)", execution_count=1, outputs=[
                    nbformat.v4.new_output("stream", name="stdout", text=f"{seq}:" + "x" * size)])]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i}"
    return json.loads(json.dumps(nb))


def _notebook_bytes(seq: int, size: int, _cache={}) -> bytes:
    """Same document as :func:`_notebook`, built by string formatting (cheap), so the child
    spends nearly all its time inside ``publish`` where the kill should land."""
    if "template" not in _cache:
        _cache["template"] = json.dumps(_notebook(0, 0)).replace('"0:"', '"@SEQ@:@BIG@"').replace(
            '"seq": 0', '"seq": @SEQ@').replace("# Crash 0", "# Crash @SEQ@")
    return (_cache["template"].replace("@SEQ@", str(seq)).replace("@BIG@", "x" * size)).encode()


def _stop_inside_write(k: int, signal_fd: int) -> None:  # pragma: no cover - runs in the fork
    """Fault injection: at the k-th fsync of a regular file (the temp file of an atomic write, fully
    written and not yet renamed) tell the parent, then wait there to be killed."""
    real_fsync = os.fsync
    calls = 0

    def fsync(fd):
        nonlocal calls
        real_fsync(fd)
        if stat.S_ISREG(os.fstat(fd).st_mode):
            calls += 1
            if calls == k:
                os.write(signal_fd, b"W")
                while True:
                    time.sleep(60)

    os.fsync = fsync


def _child(root, log_path, known_ids, first_seq, seed):  # pragma: no cover - runs in the fork
    rng = random.Random(seed)
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    store = NotebookStore(root)
    ids = list(known_ids)
    seq = first_seq
    while True:
        seq += 1
        nb = _notebook_bytes(seq, rng.randint(1, 5) * 1024 * 1024)
        if ids and rng.random() < 0.7:
            target = rng.choice(ids)
            os.write(fd, f"B {target} {seq}\n".encode())
            store.publish(nb, author="crash", id=target, description=f"seq {seq}")
        else:
            os.write(fd, f"B - {seq}\n".encode())
            target = store.publish(nb, author="crash", description=f"seq {seq}").id
            ids.append(target)
        os.write(fd, f"D {target} {seq}\n".encode())


def _parse_log(path):
    done: dict[str, int] = {}
    inflight = None  # (id or "-", seq)
    for line in path.read_text().splitlines():
        kind, target, seq = line.split()
        if kind == "B":
            inflight = (target, int(seq))
        else:
            done[target] = int(seq)
            inflight = None
    return done, inflight


def _check_store(root, done, inflight):
    store = NotebookStore(root)
    records = {r.id: r for r in store.list()}
    for nb_id, record in records.items():
        rec, data = store.read(nb_id)  # verifies the sha256 of the version file
        nb = nbformat.reads(data.decode(), as_version=4)
        nbformat.validate(nb)
        seq = nb.metadata["crash_test"]["seq"]
        assert rec.description == f"seq {seq}" and rec.title == f"Crash {seq}", (nb_id, rec)
        assert nb.cells[1].outputs[0].text.startswith(f"{seq}:")
        allowed = set()
        if nb_id in done:
            allowed.add(done[nb_id])
        if inflight and inflight[0] in (nb_id, "-"):
            allowed.add(inflight[1])
        assert seq in allowed, f"{nb_id} holds seq {seq}, expected one of {allowed}"
    for nb_id in done:
        assert nb_id in records, f"committed notebook {nb_id} vanished"
    return list(records)


def test_kill_9_mid_publish_leaves_old_or_new(tmp_path):
    root = tmp_path / "gallery"
    log = tmp_path / "ops.log"
    NotebookStore(root)
    rng = random.Random()
    known: list[str] = []
    seq = 0
    killed_mid_operation = 0
    killed_mid_write = 0
    injected = 0
    for round_no in range(ROUNDS):
        temps_before = set(root.glob("notebooks/*/.*.tmp"))
        # odd rounds: kill at the k-th file write; k odd lands in a version file, k even in a record
        inject_at = 1 + round_no // 2 if round_no % 2 else 0
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            try:
                os.close(read_fd)
                if inject_at:
                    _stop_inside_write(inject_at, write_fd)
                _child(root, log, known, seq, rng.random())
            finally:
                os._exit(0)
        os.close(write_fd)
        if inject_at:
            ready, _, _ = select.select([read_fd], [], [], 120)
            assert ready and os.read(read_fd, 1) == b"W", "the child never reached its injected write"
            injected += 1
        else:
            time.sleep(rng.uniform(0.3, 1.5))
        os.close(read_fd)
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        done, inflight = _parse_log(log)
        killed_mid_operation += inflight is not None
        killed_mid_write += bool(set(root.glob("notebooks/*/.*.tmp")) - temps_before)  # left by this kill
        known = _check_store(root, done, inflight)
        seq = max([seq, *done.values(), inflight[1] if inflight else 0])
        if inflight:
            # settle what the in-flight operation became, so the next round's log is exact
            store = NotebookStore(root)
            for record in store.list():
                data = json.loads(store.read_notebook(record.id))
                with open(log, "a") as f:
                    f.write(f"D {record.id} {data['metadata']['crash_test']['seq']}\n")
    assert len(known) >= 2
    # every injected kill landed inside a publish operation and left its temp file behind
    assert injected == ROUNDS // 2
    assert killed_mid_operation >= injected, killed_mid_operation
    assert killed_mid_write >= injected, killed_mid_write
