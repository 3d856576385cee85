"""What scripts/soak.py, memory.py and hostile.py share: the binary to run
(built in release when none is given), a free loopback port, HTTP requests
that return the status and body (errors included), waiting for /health."""
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def binary(given):
    """`given`, else the release binary, built first."""
    if given:
        return given
    target = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/tuilerie-target"))
    subprocess.run(["cargo", "build", "--release", "--locked", "-q", "-p", "tuilerie-server", "--bin", "tuilerie"], cwd=ROOT, check=True)
    return os.path.join(target, "release", "tuilerie")


def store(binary):
    """A new data directory with an admin token: (directory, token).
    Scripts serve with --data-dir so that they never write into data/."""
    import tempfile
    directory = tempfile.mkdtemp(prefix="tuilerie-store-")
    made = subprocess.run([binary, "token", "create", "--role", "admin", "--name", "script", "--data-dir", directory],
                          check=True, capture_output=True, text=True)
    return directory, made.stdout.strip()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def request(base, path, data=None, method=None, headers=None, timeout=120):
    """(status, body) of a request; an HTTP error is a status too."""
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_ready(base, server, seconds=60):
    """Waits for /health to answer 200; False if `server` exits first or time runs out."""
    for _ in range(int(seconds * 10)):
        try:
            if request(base, "/health", timeout=2)[0] == 200:
                return True
        except OSError:
            pass
        if server.poll() is not None:
            return False
        time.sleep(0.1)
    return False
