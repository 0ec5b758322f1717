"""Username -> (issuer, sub) bindings: first sign-in binds, another account is refused, an admin re-binds."""

from __future__ import annotations

import json
import threading

import pytest

from jupyterhub_saturn.cli import main
from jupyterhub_saturn.identities import IdentityBindings, IdentityTaken

ISS = "https://sso.example.edu"


@pytest.fixture
def bindings(tmp_path):
    return IdentityBindings(tmp_path / "ids.json", clock=lambda: 1000.0)


def test_first_sign_in_binds_and_the_same_account_passes(bindings):
    assert bindings.get("root1") is None
    assert bindings.claim("root1", ISS, "sub-a") is True
    assert bindings.claim("root1", ISS, "sub-a") is False
    bindings.check("root1", ISS, "sub-a")
    assert bindings.get("root1").to_json() == {"iss": ISS, "sub": "sub-a", "bound": 1000.0}


@pytest.mark.parametrize("iss, sub", [(ISS, "sub-b"), ("https://other.example", "sub-a"), (ISS, "")])
def test_another_account_is_refused_with_the_rebind_instructions(bindings, iss, sub):
    bindings.claim("root1", ISS, "sub-a")
    with pytest.raises(IdentityTaken) as err:
        bindings.claim("root1", iss, sub, provider="Campus SSO")
    assert err.value.status == 403
    if sub:
        assert "already belongs to another Campus SSO account" in err.value.text
        assert "jupyterhub-saturn identity unbind root1" in err.value.text
        with pytest.raises(IdentityTaken):
            bindings.check("root1", iss, sub)
    assert bindings.get("root1").subject == "sub-a"


def test_unbind_and_bind_are_the_admins_rebind(bindings):
    bindings.claim("root1", ISS, "sub-a")
    assert bindings.unbind("root1") is True and bindings.unbind("root1") is False
    assert bindings.claim("root1", ISS, "sub-b") is True
    bindings.bind("root1", ISS, "sub-c")
    bindings.check("root1", ISS, "sub-c")


def test_concurrent_first_sign_ins_bind_exactly_one_account(tmp_path):
    path = tmp_path / "ids.json"
    barrier = threading.Barrier(8)
    results = []

    def sign_in(i):
        barrier.wait()
        try:
            results.append(IdentityBindings(path).claim("shared", ISS, f"sub-{i}"))
        except IdentityTaken:
            results.append("taken")

    threads = [threading.Thread(target=sign_in, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results.count(True) == 1 and results.count("taken") == 7


def test_a_damaged_file_is_an_error_not_an_open_door(tmp_path):
    path = tmp_path / "ids.json"
    path.write_text(json.dumps({"users": []}))
    with pytest.raises(ValueError):
        IdentityBindings(path).claim("root1", ISS, "sub-a")


def test_cli_shows_unbinds_and_binds(tmp_path, capsys):
    path = str(tmp_path / "ids.json")
    IdentityBindings(path).claim("root1", ISS, "sub-a")
    assert main(["identity", "show", "ROOT1", "--file", path]) == 0
    assert f"root1\t{ISS}\tsub-a" in capsys.readouterr().out
    assert main(["identity", "unbind", "Root1", "--file", path]) == 0
    assert IdentityBindings(path).get("root1") is None
    assert main(["identity", "bind", "root1", ISS + "/", "sub-z", "--file", path]) == 0
    assert IdentityBindings(path).get("root1").subject == "sub-z"
    assert main(["identity", "bind", "root1", "--file", path]) == 1
    assert "needs the issuer" in capsys.readouterr().err
