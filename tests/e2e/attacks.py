"""What hostile code in a server tries: each attack reports whether it got through.

``ATTACKS`` is Python source run in a server's kernel with ``TARGETS`` (a dict) defined before
it; it prints one JSON object ``{attack: [succeeded, detail]}``. The same source runs in
sandboxed servers (every attack must fail) and unsandboxed ones (every attack must succeed,
so a failure would be seen).
"""

ATTACKS = r'''
import json, os, subprocess, uuid
T = TARGETS
result = {}
def attempt(name, fn):
    try:
        result[name] = [True, str(fn())[:200]]
    except Exception as e:
        result[name] = [False, f"{type(e).__name__}: {e}"[:200]]

def read(path):
    with open(path, "rb") as f:
        return f.read(64)

attempt("read_hub_database", lambda: read(T["db"]))
attempt("read_cookie_secret", lambda: read(T["cookie"]))
attempt("read_gallery_store", lambda: os.listdir(T["store"]) or "empty")

def other_env():
    mine = os.environ.get("JUPYTERHUB_API_TOKEN")
    pids = [p for p in os.listdir("/proc") if p.isdigit()]
    for pid in pids:
        try:
            env = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
        except OSError:
            continue
        for item in env:
            if item.startswith(b"JUPYTERHUB_API_TOKEN=") and item.split(b"=", 1)[1].decode() != mine:
                return f"pid {pid} of {len(pids)} visible"
    raise PermissionError(f"no other server's token among {len(pids)} visible processes")
attempt("read_other_server_env", other_env)
attempt("read_other_home", lambda: read(os.path.join(T["victim_home"], "secret.txt")))

def write_to(path):
    with open(path, "w") as f:
        f.write("pwned")
    os.unlink(path)
    return path
attempt("write_other_home", lambda: write_to(os.path.join(T["victim_home"], "pwned-" + uuid.uuid4().hex)))
attempt("write_system_dir", lambda: write_to("/usr/local/share/saturn-attack-" + uuid.uuid4().hex))
attempt("write_etc", lambda: write_to("/etc/saturn-attack-" + uuid.uuid4().hex))

def setuid_mount():
    target = os.path.join(os.environ.get("HOME", "/tmp"), "mnt-" + uuid.uuid4().hex)
    os.mkdir(target)
    try:
        p = subprocess.run(["mount", "-t", "tmpfs", "none", target], capture_output=True, text=True)
        if p.returncode != 0:
            raise PermissionError(p.stderr.strip())
        subprocess.run(["umount", target])
        return "mounted through the setuid mount binary"
    finally:
        os.rmdir(target)
attempt("setuid_privilege", setuid_mount)

def open_gpu():
    fd = os.open(T["other_gpu"], os.O_RDWR)
    os.close(fd)
    return T["other_gpu"]
attempt("open_other_gpu", open_gpu)
print(json.dumps(result))
'''


def attack_source(targets: dict) -> str:
    """The attack program with ``targets`` bound."""
    import json

    return f"import json\nTARGETS = json.loads({json.dumps(json.dumps(targets))})\n" + ATTACKS


ALL = ("read_hub_database", "read_cookie_secret", "read_gallery_store", "read_other_server_env", "read_other_home",
       "write_other_home", "write_system_dir", "write_etc", "setuid_privilege", "open_other_gpu")
