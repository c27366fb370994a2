"""A throwaway PostgreSQL + PostGIS server for the tests, and fresh databases cloned from a template.

``PgServer.start()`` finds the server binaries (``$LANDRENEW_PG_BINDIR``, ``/usr/lib/postgresql/*/bin``,
``pg_config --bindir``, ``$PATH``), runs ``initdb`` into a new temporary folder and starts ``postgres``
on a free port of 127.0.0.1 (socket in the same folder; fsync off, minimal WAL: nothing outlives the run).
PostgreSQL refuses to run as root, so under root the cluster belongs to the ``postgres`` system user
and ``initdb``/``pg_ctl`` run through ``runuser``; otherwise they run as the current user.

``PgServer.existing(url)`` uses a server that is already running instead (``LANDRENEW_TEST_DATABASE_URL``):
the URL's database is only used to issue ``CREATE``/``DROP DATABASE``; its role needs CREATEDB, and
superuser unless ``postgis`` is already installed in ``template1``.

Either way ``new_database()`` clones a fresh database from a template that has PostGIS and the
workspace schema migrated once (``CREATE DATABASE … TEMPLATE``: a file copy, no migration per test),
and ``drop_database()`` drops it (``WITH (FORCE)``, so connections a test left open do not matter).
"""

from __future__ import annotations

import atexit
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

ENV_URL = "LANDRENEW_TEST_DATABASE_URL"
ENV_REQUIRE = "LANDRENEW_REQUIRE_PG"
ENV_BINDIR = "LANDRENEW_PG_BINDIR"

#: appended to postgresql.conf: speed over durability, nothing outlives the test session
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "'1GB'",
    "checkpoint_timeout": "'30min'",
    "autovacuum": "off",
    "jit": "off",
    "shared_buffers": "'64MB'",
    "max_connections": "200",
    "log_min_messages": "warning",
    "log_min_error_statement": "panic",
    "logging_collector": "off",
}


class PgUnavailable(RuntimeError):
    """No server binaries and no LANDRENEW_TEST_DATABASE_URL: the PostgreSQL tests cannot run."""


def required() -> bool:
    """Must the PostgreSQL half run (CI, or LANDRENEW_REQUIRE_PG=1) rather than be skipped?"""
    def on(name: str) -> bool:
        return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")
    return on(ENV_REQUIRE) or on("CI")


def has_postgis(bindir: Path) -> bool:
    """Is the PostGIS extension installed for the server in ``bindir``?"""
    share = None
    if (bindir / "pg_config").is_file():
        try:
            share = subprocess.run([str(bindir / "pg_config"), "--sharedir"], capture_output=True, text=True,
                                   check=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    share = share or f"/usr/share/postgresql/{bindir.parent.name}"
    return (Path(share) / "extension" / "postgis.control").is_file()


def find_bindir() -> Path | None:
    """A folder holding initdb, pg_ctl and postgres: $LANDRENEW_PG_BINDIR, else one with PostGIS first,
    the newest Debian version first."""
    def ok(d: Path) -> bool:
        return all((d / exe).is_file() and os.access(d / exe, os.X_OK) for exe in ("initdb", "pg_ctl", "postgres"))

    def version(d: str) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", Path(d).parent.name)) or (0,)

    if os.environ.get(ENV_BINDIR):
        return Path(os.environ[ENV_BINDIR]) if ok(Path(os.environ[ENV_BINDIR])) else None
    candidates = [Path(d) for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)]
    if shutil.which("pg_config"):
        try:
            out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True, timeout=30)
            candidates.append(Path(out.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    if shutil.which("pg_ctl"):
        candidates.append(Path(shutil.which("pg_ctl")).resolve().parent)
    found = [d for d in dict.fromkeys(candidates) if ok(d)]
    return next((d for d in found if has_postgis(d)), found[0] if found else None)


def free_port() -> int:
    """A TCP port of 127.0.0.1 nobody listens on right now (never 5432: it is an ephemeral port)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PgServer:
    """A PostgreSQL server the tests may create and drop databases on."""

    def __init__(self, admin_url: str, tag: str) -> None:
        self.admin_url = admin_url
        self.tag = re.sub(r"[^a-z0-9_]", "_", tag.lower())
        self._admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self._template: str | None = None
        self._created: set[str] = set()
        self._stop = None  # set for a cluster we started
        self.cluster: Cluster | None = None  # the cluster we started

    # --- starting ---------------------------------------------------------------------------------

    @classmethod
    def existing(cls, url: str, tag: str) -> PgServer:
        """Databases on the server at ``url`` (left running at the end)."""
        server = cls(url, tag)
        with server._admin.connect() as conn:  # fail here, clearly, when the server is not there
            conn.execute(text("SELECT 1"))
        return server

    @classmethod
    def start(cls, tag: str) -> PgServer:
        """Start a throwaway cluster; raise PgUnavailable when there are no server binaries."""
        bindir = find_bindir()
        if bindir is None:
            raise PgUnavailable("no PostgreSQL server binaries (looked in $LANDRENEW_PG_BINDIR, "
                                "/usr/lib/postgresql/*/bin, pg_config --bindir, $PATH); install postgresql-15 "
                                "postgresql-15-postgis-3 or set LANDRENEW_TEST_DATABASE_URL")
        cluster = Cluster(bindir, tag)
        try:
            port = cluster.start()
        except BaseException:
            cluster.stop()
            raise
        server = cls(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", tag)
        server._stop = cluster.stop
        server.cluster = cluster
        return server

    # --- databases --------------------------------------------------------------------------------

    def url(self, database: str) -> str:
        return make_url(self.admin_url).set(database=database).render_as_string(hide_password=False)

    def _create(self, name: str, template: str | None = None) -> str:
        sql = f"CREATE DATABASE {_quote(name)}"
        with self._admin.connect() as conn:
            if template:
                # FILE_COPY (PostgreSQL 15+) copies the files: ~5x faster than WAL-logging a small database
                fast = int(conn.execute(text("SHOW server_version_num")).scalar_one()) >= 150000
                sql += f" TEMPLATE {_quote(template)}" + (" STRATEGY FILE_COPY" if fast else "")
            conn.execute(text(sql))
        self._created.add(name)
        return self.url(name)

    def template(self) -> str:
        """The template's name: created (PostGIS + migrated workspace schema) on first use."""
        if self._template is None:
            from landrenew.store import Workspace

            name = f"landrenew_tpl_{self.tag}_{uuid.uuid4().hex[:8]}"
            url = self._create(name)
            with tempfile.TemporaryDirectory() as folder:
                try:
                    ws = Workspace.open(folder, url)
                except DBAPIError as exc:
                    if "postgis" in str(exc) and ("not available" in str(exc) or "control file" in str(exc)):
                        raise PgUnavailable("the PostgreSQL server has no PostGIS extension: install "
                                            "postgresql-15-postgis-3 (Debian)") from exc
                    raise
                ws.engine.dispose()  # a template must have no connections when it is copied
            self._template = name
        return self._template

    def new_database(self) -> str:
        """A fresh database cloned from the template; its URL."""
        template = self.template()
        return self._create(f"landrenew_t_{self.tag}_{uuid.uuid4().hex[:12]}", template)

    def drop_database(self, url_or_name: str) -> None:
        name = make_url(url_or_name).database if "://" in url_or_name else url_or_name
        with self._admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)"))
        self._created.discard(name)

    def close(self) -> None:
        """Drop what we created (on a server we did not start) and stop the cluster we started."""
        try:
            if self._stop is None:
                for name in sorted(self._created):
                    self.drop_database(name)
        finally:
            self._admin.dispose()
            if self._stop is not None:
                self._stop()



class Cluster:
    """A PostgreSQL cluster in a new temporary folder, owned by ``postgres`` when we are root."""

    PREFIX = "landrenew-pg-"

    def __init__(self, bindir: Path, tag: str) -> None:
        self.bindir = bindir
        self.runas: list[str] = []
        owner = None
        if os.geteuid() == 0:
            import pwd

            try:
                owner = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise RuntimeError("running as root, but there is no 'postgres' system user to own the test "
                                   "cluster (PostgreSQL refuses to run as root)") from exc
            self.runas = ["runuser", "-u", "postgres", "--"]
        reap_stale(bindir, self.runas)
        # not under pytest's tmp dir: that is private to the current user, and the cluster may belong to postgres
        self.root = Path(tempfile.mkdtemp(prefix=f"{self.PREFIX}{tag}-", dir=cluster_parent(bool(self.runas))))
        (self.root / "owner.pid").write_text(str(os.getpid()))
        if owner is not None:
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self.data, self.log = self.root / "data", self.root / "server.log"
        self._stopped = False

    def run(self, *args: str) -> None:
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        env.pop("PGDATA", None)
        out = subprocess.run([*self.runas, *args], cwd=self.root, env=env, capture_output=True, text=True,
                             timeout=180)
        if out.returncode:
            detail = out.stdout + out.stderr
            if self.log.exists():
                detail += "\n--- server log ---\n" + self.log.read_text(errors="replace")[-4000:]
            raise RuntimeError(f"{' '.join(Path(a).name for a in args)} failed ({out.returncode}):\n{detail}")

    def start(self) -> int:
        """initdb, then start on a free port; the port."""
        self.run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                 "--no-locale", "--no-sync", "--no-instructions")
        settings = {**SETTINGS, "unix_socket_directories": f"'{self.root}'"}
        atexit.register(self.stop)  # a worker that ends without teardown still stops its cluster
        _stop_on_sigterm(self.stop)
        for attempt in range(5):  # another process may take the port between free_port() and the start
            port = free_port()
            with (self.data / "postgresql.conf").open("a") as f:  # the last setting of a name wins
                f.write("\n# landrenew tests\n" + "".join(f"{k} = {v}\n" for k, v in settings.items())
                        + f"port = {port}\n")
            try:
                self.run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                         "start")
                return port
            except RuntimeError:
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def pause(self) -> None:
        """Stop the server at once, as a crash would (its data kept: :meth:`resume` starts it again)."""
        self.run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def resume(self) -> None:
        """Start the paused server again, on its port."""
        self.run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self) -> None:
        """Stop the server (immediately: nothing is kept) and remove the folder; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        _stop_folder(self.bindir, self.runas, self.root)


def _stop_folder(bindir: Path, runas: list[str], root: Path) -> None:
    try:
        if (root / "data" / "postmaster.pid").exists():
            subprocess.run([*runas, str(bindir / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "-w",
                            "stop"], cwd="/", capture_output=True, timeout=120)
    except (OSError, subprocess.SubprocessError):  # best effort: never hide the session's own result
        pass
    finally:
        shutil.rmtree(root, ignore_errors=True)


def cluster_parent(other_user: bool) -> Path:
    """Where clusters go: the temp dir, or /tmp when another user (postgres) could not reach into it."""
    tmp = Path(tempfile.gettempdir()).resolve()
    if other_user and not all(os.stat(p).st_mode & 0o001 for p in (tmp, *tmp.parents)):
        return Path("/tmp")
    return tmp


def reap_stale(bindir: Path, runas: list[str]) -> None:
    """Stop and remove the clusters of test processes that died without cleaning up (SIGKILL)."""
    for root in cluster_parent(bool(runas)).glob(f"{Cluster.PREFIX}*"):
        try:
            pid = int((root / "owner.pid").read_text())
            os.kill(pid, 0)
            continue  # its process is alive: not ours to touch
        except ProcessLookupError:
            _stop_folder(bindir, runas, root)
        except (OSError, ValueError):
            continue  # not readable (another user's) or being created right now


_on_sigterm: list = []


def _stop_on_sigterm(stop: Callable[[], None]) -> None:
    """SIGTERM (a CI timeout, ``kill``) skips teardown and atexit: stop the cluster first, then die."""
    if threading.current_thread() is not threading.main_thread():
        return
    if not _on_sigterm:
        previous = signal.getsignal(signal.SIGTERM)
        if previous not in (signal.SIG_DFL, None):
            return  # someone else handles SIGTERM: leave it to them (atexit still stops the cluster)

        def handler(signum: int, frame: object) -> None:
            for fn in _on_sigterm:
                fn()
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

        signal.signal(signal.SIGTERM, handler)
    _on_sigterm.append(stop)
