"""Sharing on saturn-kube: the real apiserver, the node agent's pod, a guest through the proxy.

The owner shares by link on the sharing page, the guest accepts it and reaches the pod's server
through the proxy (a real request to its API, and a kernel websocket), cannot stop it nor start it
with another profile; after the revoke the guest's open websocket is closed and the next request
is refused.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import requests
from tornado.httpclient import HTTPClientError
from tornado.websocket import WebSocketError

from ..harness import wait_for
from ..sharing.helpers import accept, create_link, share_page
from .gallery_helpers import xsrf_of
from .kernel_helpers import execute_on, open_channels
from .kube_helpers import Cluster, make_kube_hub, notebook_container

pytestmark = pytest.mark.e2e
pytest_plugins = ["tests.kube.fixtures"]

REVOKE_WITHIN = 2
CLOSE_BOUND = 30
CATALOG = f"""
c.Saturn.sizes = {{"small": {{"cpu": 0.5, "memory": "512M"}}, "large": {{"cpu": 1, "memory": "1G"}}}}
c.Saturn.images = {{"python": {{"image": "local/python"}}}}
c.Saturn.disks = ["1Gi"]
c.Saturn.defaults = {{"size": "small"}}
c.Saturn.sharing = {{"enabled": True, "groups": ["sharers"], "revoke_within": "{REVOKE_WITHIN}s"}}
"""


@pytest.mark.hub_versions
def test_share_a_kube_server_by_link_access_only_then_revoke(kube_hub, kube_node, hub_factory):
    hub = make_kube_hub(None, kube_hub, CATALOG, factory=hub_factory)
    hub.ensure_user("alice", ["sharers"])
    hub.ensure_user("carol")
    r = hub.spawn("alice", {"size": "small"})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready("alice", timeout=180)
    cluster = Cluster(kube_hub)
    pod = cluster.pod("jupyter-alice")
    uid = pod["metadata"]["uid"]
    # the pod runs the server with the sharing settings: the short login cache and the guest-access extension
    args = " ".join(notebook_container(pod).get("args", []))
    assert f"--HubOAuth.cache_max_age={REVOKE_WITHIN}" in args and "jupyterhub_saturn.singleuser.extension" in args

    owner, guest = hub.login("alice"), hub.login("carol")
    link = create_link(hub, owner, "1h")
    assert guest.get(hub.url + "/user/alice/api/status").status_code in (403, 404)  # not before accepting
    r = accept(hub, guest, link)
    assert r.status_code == 200 and r.url.startswith(hub.url + "/user/alice/"), (r.status_code, r.url)
    # a real request through the proxy to the pod's server, as the guest
    r = guest.get(hub.url + "/user/alice/api/contents", timeout=30)
    assert r.status_code == 200 and r.json()["type"] == "directory", r.text[:300]

    # access only: no stop, no start with another profile (the body shape differs between 5.x and 6.x)
    token = hub.user_token("carol")
    body = {"size": "large"} if hub.version() < (6, 0) else {"user_options": {"size": "large"}}
    assert hub.api("DELETE", "/users/alice/server", token=token).status_code in (403, 404)
    assert hub.api("POST", "/users/alice/server", token=token, json=body).status_code in (403, 404)
    pod = cluster.pod("jupyter-alice")
    assert pod["metadata"]["uid"] == uid and cluster.pod_names() == {"jupyter-alice"}
    assert notebook_container(pod)["resources"]["limits"]["memory"] == "512M"
    assert hub.user_model("alice")["servers"][""]["user_options"]["size"] == "small"

    # the guest holds a kernel websocket open; the revoke closes it and refuses the next requests
    server = f"{hub.url}/user/alice/"
    owner_headers = {"Authorization": f"token {hub.user_token('alice', scopes=['access:servers!user=alice'])}"}
    r = requests.post(server + "api/kernels", headers=owner_headers, json={"name": "python3"}, timeout=60)
    assert r.status_code == 201, r.text
    kernel = r.json()["id"]
    guest_headers = {"Cookie": "; ".join(f"{c.name}={c.value}" for c in guest.cookies)}

    async def drained(ws):
        while await ws.read_message() is not None:
            pass

    async def scenario():
        ws = await open_channels(server, kernel, guest_headers)
        assert await execute_on(ws, "print('on kube', 6 * 7)") == "on kube 42\n"
        page = share_page(hub, owner)
        r = owner.post(hub.url + "/hub/saturn/share?server=",
                       data={"_xsrf": xsrf_of(page.text), "action": "revoke", "kind": "user", "name": "carol"})
        assert r.status_code == 200 and 'id="saturn-share-nobody"' in r.text
        revoked = time.monotonic()
        await asyncio.wait_for(drained(ws), REVOKE_WITHIN + CLOSE_BOUND)
        took = time.monotonic() - revoked
        with pytest.raises((HTTPClientError, WebSocketError)):
            await open_channels(server, kernel, guest_headers)
        return took, ws.close_code, ws.close_reason

    took, code, reason = asyncio.run(scenario())
    print(f"on saturn-kube the revoked guest's websocket closed {took:.2f} s after the revoke")
    assert code == 1003 and "revoked" in json.loads(reason)["errorReason"]
    wait_for(lambda: guest.get(hub.url + "/user/alice/api/status", timeout=30).status_code in (403, 404),
             timeout=60, what="the revoked guest refused")
    assert guest.get(hub.url + "/hub/saturn/time-left", params={"user": "alice"}).status_code == 404
    # the owner's server is untouched by all of it
    assert requests.get(server + "api/status", headers=owner_headers, timeout=30).status_code == 200
    assert cluster.pod("jupyter-alice")["metadata"]["uid"] == uid
