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


class Postgres:
    """A PostgreSQL started in a temporary directory on a Unix socket in it
    (no TCP port), as the tests do (Debian's postgresql-15; as root it runs
    as the postgres user, since initdb refuses root), with a `tuilerie`
    database; stopped and removed on exit. `url` is for --store."""

    def __init__(self, name="pg", settings=()):
        import shutil
        import tempfile
        versions = (os.path.join("/usr/lib/postgresql", v, "bin") for v in os.listdir("/usr/lib/postgresql"))
        self.bin = sorted(d for d in versions if os.path.exists(os.path.join(d, "initdb")))[-1]
        self.dir = tempfile.mkdtemp(prefix=f"tlr-{name}-")
        self.as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        self.data = os.path.join(self.dir, "data")
        self.settings = " ".join(f"-c {s}" for s in ("listen_addresses=''", "max_connections=100", *settings))
        subprocess.run(self.as_pg + [f"{self.bin}/initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "--no-sync"],
                       check=True, capture_output=True)
        self.start()
        self.psql("CREATE DATABASE tuilerie", database="postgres")
        self.url = f"postgres://postgres@localhost/tuilerie?host={self.dir}"

    def start(self):
        subprocess.run(self.as_pg + [f"{self.bin}/pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w",
                                     "-o", f"-k {self.dir} {self.settings}", "start"], check=True, capture_output=True)

    def psql(self, sql, database="tuilerie"):
        return subprocess.run(self.as_pg + [f"{self.bin}/psql", "-h", self.dir, "-U", "postgres", "-d", database, "-At",
                                            "-c", sql], check=True, capture_output=True, text=True).stdout.strip()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        import shutil
        subprocess.run(self.as_pg + [f"{self.bin}/pg_ctl", "-D", self.data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)
