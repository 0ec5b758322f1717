"""Run code in a real single-user server's kernel through the Jupyter REST and websocket APIs."""

from __future__ import annotations

import asyncio
import json
import uuid

import requests
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect


def run_code(server_url: str, token: str, code: str, timeout: float = 120) -> str:
    """Start a kernel on ``server_url`` (``http://host/user/<name>/``), run ``code``, return its stdout."""
    headers = {"Authorization": f"token {token}"}
    r = requests.post(server_url + "api/kernels", headers=headers, json={"name": "python3"}, timeout=60)
    assert r.status_code == 201, f"could not start a kernel: {r.status_code} {r.text[:300]}"
    kernel = r.json()["id"]
    try:
        return asyncio.run(asyncio.wait_for(_execute(server_url, kernel, headers, code), timeout))
    finally:
        requests.delete(server_url + f"api/kernels/{kernel}", headers=headers, timeout=30)


async def open_channels(server_url: str, kernel: str, headers: dict, timeout: float = 60):
    """An open websocket to a kernel's channels (``headers`` carry a token or a browser's cookies)."""
    ws_url = server_url.replace("http", "ws", 1) + f"api/kernels/{kernel}/channels"
    return await websocket_connect(HTTPRequest(ws_url, headers=headers, connect_timeout=timeout,
                                               request_timeout=timeout))


async def execute_on(ws, code: str) -> str:
    """Run ``code`` over an open channels websocket (left open); returns its stdout."""
    msg_id, session = uuid.uuid4().hex, uuid.uuid4().hex
    ws.write_message(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test", "session": session,
                   "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True},
    }))
    out, error = [], None
    while True:
        raw = await ws.read_message()
        assert raw is not None, "kernel websocket closed"
        msg = json.loads(raw)
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind == "stream":
            out.append(msg["content"]["text"])
        elif kind == "error":
            error = "\n".join(msg["content"]["traceback"])
        elif kind == "status" and msg["content"]["execution_state"] == "idle":
            break
    assert error is None, f"the code raised in the kernel:\n{error}"
    return "".join(out)


async def _execute(server_url: str, kernel: str, headers: dict, code: str) -> str:
    ws = await open_channels(server_url, kernel, headers)
    try:
        return await execute_on(ws, code)
    finally:
        ws.close()
