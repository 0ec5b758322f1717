"""Tags on publish, and an author's edit / unpublish page, against a real hub (API, pages, CLI)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ..harness import Hub
from .gallery_helpers import GALLERY_CONFIG, publish, sample_notebook, xsrf_of

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    h = Hub(tmp_path_factory.mktemp("gallery-edit"), GALLERY_CONFIG + 'c.Authenticator.admin_users = {"boss"}\n').start()
    for name, groups in (("prof", ["instructors"]), ("prof2", ["instructors"]), ("stud", [])):
        h.ensure_user(name, groups)
    h.prof_token = h.user_token("prof")
    yield h
    h.stop()


def test_tags_on_publish_are_validated_and_shown(hub):
    r = publish(hub, hub.prof_token, sample_notebook("Tagged"), tags=["Physics", "week-3", "physics"])
    assert r.status_code == 201, r.text
    rec = r.json()
    assert rec["tags"] == ["physics", "week-3"]
    for bad, words in ((["two words"], "is not a tag"), (["x"] * 0 + [f"t{i}" for i in range(9)], "at most 8"),
                       ("a" * 31, "is not a tag"), ({"a": 1}, "must be a list"), ([7], "must be a string"),
                       (["<script>alert(1)</script>"], "is not a tag")):
        r = publish(hub, hub.prof_token, sample_notebook("Bad tags"), tags=bad)
        assert r.status_code == 400 and "tags" in r.json()["message"] and words in r.json()["message"], r.text
    # the gallery shows the tag on the card and offers it as a filter; the report links it
    page = requests_get(hub, "/hub/gallery").text
    assert 'data-tags=" physics week-3 "' in page and '<option value="week-3">week-3</option>' in page
    assert '?tag=physics">physics</a>' in requests_get(hub, f"/hub/gallery/{rec['id']}").text
    # PATCH edits without re-uploading; unknown keys and bad values are 400s naming the field
    r = hub.api("PATCH", f"/saturn/notebooks/{rec['id']}", token=hub.prof_token, json={"tags": "optics"})
    assert r.status_code == 200 and r.json()["tags"] == ["optics"] and r.json()["title"] == "Tagged"
    for body, field in (({"notebook": {}}, "notebook"), ({"tags": ["no way"]}, "tags"), ({"title": 5}, "title"), ({}, "body")):
        r = hub.api("PATCH", f"/saturn/notebooks/{rec['id']}", token=hub.prof_token, json=body)
        assert r.status_code == 400 and field in r.json()["message"], (body, r.text)
    r = hub.api("PATCH", f"/saturn/notebooks/{rec['id']}", token=hub.user_token("prof2"), json={"title": "mine"})
    assert r.status_code == 403


def requests_get(hub, path, session=None):
    import requests

    return (session or requests).get(hub.url + path, timeout=30)


def test_author_edits_and_unpublishes_from_the_page(hub):
    rec = publish(hub, hub.prof_token, sample_notebook("Editable"), description="before").json()
    edit = f"/hub/gallery/{rec['id']}/edit"
    # others: a visitor is sent to log in, another publisher and a student are refused, and see no Edit link
    assert "/hub/login" in requests_get(hub, edit).url
    for name in ("prof2", "stud"):
        s = hub.login(name)
        assert requests_get(hub, edit, s).status_code == 403
        assert "saturn-edit-link" not in requests_get(hub, f"/hub/gallery/{rec['id']}", s).text
        r = s.post(hub.url + f"/hub/gallery/{rec['id']}/unpublish",
                   data={"_xsrf": s.cookies.get("_xsrf", ""), "confirm": "yes"}, timeout=30)
        assert r.status_code == 403
    s = hub.login("prof")
    assert "saturn-edit-link" in requests_get(hub, f"/hub/gallery/{rec['id']}", s).text
    page = requests_get(hub, edit, s)
    assert page.status_code == 200 and 'value="Editable"' in page.text
    xsrf = xsrf_of(page.text)
    # without the XSRF token the hub refuses the POST
    assert s.post(hub.url + edit, data={"title": "x"}, timeout=30).status_code == 403
    r = s.post(hub.url + edit, data={"_xsrf": xsrf, "title": "Edited", "description": "after", "tags": "bad tag"},
               timeout=30)
    assert r.status_code == 400 and "tags" in r.text and 'value="Edited"' in r.text  # the form keeps the input
    r = s.post(hub.url + edit, data={"_xsrf": xsrf, "title": "Edited", "description": "after", "tags": "a, b"},
               timeout=30)
    assert r.status_code == 200 and r.url.endswith(f"/hub/gallery/{rec['id']}") and "Edited" in r.text
    got = hub.api("GET", f"/saturn/notebooks/{rec['id']}").json()
    assert (got["title"], got["description"], got["tags"]) == ("Edited", "after", ["a", "b"])
    # unpublish needs its confirmation box; a GET never unpublishes
    unpublish = f"/hub/gallery/{rec['id']}/unpublish"
    assert requests_get(hub, unpublish, s).url.endswith(edit)
    r = s.post(hub.url + unpublish, data={"_xsrf": xsrf}, timeout=30)
    assert r.status_code == 400 and "confirm" in r.text
    assert hub.api("GET", f"/saturn/notebooks/{rec['id']}").status_code == 200
    r = s.post(hub.url + unpublish, data={"_xsrf": xsrf, "confirm": "yes"}, timeout=30)
    assert r.status_code == 200 and "saturn-unpublished" in r.text
    assert hub.api("GET", f"/saturn/notebooks/{rec['id']}").status_code == 404
    # an admin may edit anyone's notebook; an unknown id is the friendly 404
    other = publish(hub, hub.prof_token, sample_notebook("For the admin")).json()
    assert requests_get(hub, f"/hub/gallery/{other['id']}/edit", hub.login("boss")).status_code == 200
    assert requests_get(hub, "/hub/gallery/nope-abcdefgh/edit", s).status_code == 404


def test_cli_tags(hub, tmp_path):
    path = tmp_path / "cli.ipynb"
    path.write_text(json.dumps(sample_notebook("CLI tags")))

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "jupyterhub_saturn.cli", "--hub-url", hub.url,
                               "--token", hub.prof_token, *args], capture_output=True, text=True, timeout=60)

    p = cli("publish", str(path), "--tag", "physics", "--tag", "week-3,Lab")
    assert p.returncode == 0, p.stderr
    nb_id = p.stdout.split(" as ")[1].split()[0]
    assert f"{hub.url}/hub/gallery/{nb_id}" in p.stdout
    assert hub.api("GET", f"/saturn/notebooks/{nb_id}").json()["tags"] == ["physics", "week-3", "lab"]
    p = cli("publish", str(path))  # republished by title, tags kept
    assert p.returncode == 0 and "Republished" in p.stdout and nb_id in p.stdout, p.stdout + p.stderr
    assert hub.api("GET", f"/saturn/notebooks/{nb_id}").json()["tags"] == ["physics", "week-3", "lab"]
    p = cli("publish", str(path), "--tag", "no spaces")
    assert p.returncode == 1 and "400" in p.stderr and "tags" in p.stderr
