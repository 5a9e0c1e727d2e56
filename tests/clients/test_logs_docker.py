"""Docker's `awslogs` log driver (Debian docker.io 20.10, aws-sdk-go v1 inside dockerd) shipping a
container's output to the server.

A session fixture starts a private dockerd (own data/exec root, socket and pidfile under a temp
directory, no networking set-up, vfs storage, `AWS_ACCESS_KEY_ID=test` in its environment: the
driver takes credentials from the daemon), imports a one-binary busybox image, and stops
everything by PID at the end, also when a test failed. The driver's calls: CreateLogStream -> on
ResourceNotFoundException and awslogs-create-group: CreateLogGroup, CreateLogStream (treating
ResourceAlreadyExistsException as success) -> PutLogEvents batches with sequence tokens.

Skipped only when dockerd or a static busybox is missing and CI is unset
(scripts/install-test-deps installs docker.io and busybox-static).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import struct
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import pytest

from support import boto_client, messages, read_stream, unique, wait_for

DOCKER_START_DEADLINE_S = 90.0
DOCKER_STOP_DEADLINE_S = 30.0
RUN_DEADLINE_S = 120.0
SHIP_DEADLINE_S = 30.0  # the driver flushes on container exit; allow for it after `docker run` returns
BUSYBOX = Path("/bin/busybox")


def _find(name: str, *preferred: str) -> str | None:
    for path in preferred:
        if os.access(path, os.X_OK):
            return path
    return shutil.which(name)


def _is_static_elf(path: Path) -> bool:
    """True when the ELF file has no PT_INTERP program header (no dynamic loader needed)."""
    try:
        data = path.read_bytes()
    except OSError:
        return False
    if data[:4] != b"\x7fELF" or data[4] != 2:  # 64-bit only; Debian amd64/arm64
        return False
    endian = "<" if data[5] == 1 else ">"
    phoff, = struct.unpack_from(endian + "Q", data, 0x20)
    phentsize, phnum = struct.unpack_from(endian + "HH", data, 0x36)
    for i in range(phnum):
        p_type, = struct.unpack_from(endian + "I", data, phoff + i * phentsize)
        if p_type == 3:  # PT_INTERP
            return False
    return True


class Dockerd:
    """A private dockerd and the docker CLI bound to its socket."""

    def __init__(self, dockerd: str, docker: str):
        self.docker = docker
        # Short path under /tmp: unix socket paths are limited to 108 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="neph-dockerd-", dir="/tmp"))
        self.sock = self.root / "dockerd.sock"
        self.log_path = self.root / "dockerd.log"
        config = self.root / "daemon.json"
        config.write_text("{}\n")
        env = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "HOME": str(self.root),
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
        }
        args = [
            dockerd,
            "--config-file", str(config),
            "--pidfile", str(self.root / "dockerd.pid"),
            "--data-root", str(self.root / "data"),
            "--exec-root", str(self.root / "exec"),
            "--host", f"unix://{self.sock}",
            "--iptables=false", "--ip-forward=false", "--ip-masq=false", "--bridge=none",
            "--storage-driver=vfs",
        ]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text("utf-8", "replace").splitlines()[-lines:])
        except OSError:
            return ""

    def cli(self, *args: str, timeout: float = 60.0, stdin: bytes | None = None) -> subprocess.CompletedProcess:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.root),
               "DOCKER_CONFIG": str(self.root / "cli-config")}
        return subprocess.run([self.docker, "-H", f"unix://{self.sock}", *args], input=stdin,
                              capture_output=True, timeout=timeout, env=env)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + DOCKER_START_DEADLINE_S
        last = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dockerd exited with {self.proc.returncode}:\n{self.log_tail()}")
            if self.sock.exists():
                proc = self.cli("version", "--format", "{{.Server.Version}}", timeout=20)
                if proc.returncode == 0:
                    return
                last = proc.stderr.decode(errors="replace")
            time.sleep(0.2)  # poll interval, bounded by the deadline
        raise RuntimeError(f"dockerd not ready within {DOCKER_START_DEADLINE_S}s ({last})\n{self.log_tail()}")

    def import_busybox(self) -> None:
        """`docker import` a rootfs holding only a static busybox and sh/echo/sleep links to it."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo("bin")
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tar.addfile(info)
            tar.add(str(BUSYBOX), arcname="bin/busybox")
            for applet in ("sh", "echo", "sleep"):
                link = tarfile.TarInfo(f"bin/{applet}")
                link.type = tarfile.SYMTYPE
                link.linkname = "busybox"
                tar.addfile(link)
        proc = self.cli("import", "-", "local/busybox", stdin=buf.getvalue(), timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"docker import failed: {proc.stderr.decode(errors='replace')}")

    def remove_all_containers(self) -> None:
        if self.proc.poll() is not None:
            return
        listed = self.cli("ps", "-aq", timeout=30)
        ids = listed.stdout.decode().split()
        if ids:
            self.cli("rm", "-f", *ids, timeout=60)

    def stop(self) -> None:
        """Containers first, then dockerd by PID (SIGTERM, SIGKILL of its process group after the
        deadline), then whatever is still mounted under the temp root, then the temp root."""
        try:
            try:
                self.remove_all_containers()
            except (subprocess.TimeoutExpired, OSError):
                pass
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=DOCKER_STOP_DEADLINE_S)
                except subprocess.TimeoutExpired:
                    pass
            # dockerd ran in its own session: its process group holds the managed containerd too.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if self.proc.poll() is None:
                self.proc.wait(timeout=DOCKER_STOP_DEADLINE_S)
        finally:
            self._log.close()
            self._unmount_leftovers()
            shutil.rmtree(self.root, ignore_errors=True)

    def _unmount_leftovers(self) -> None:
        try:
            mounts = Path("/proc/self/mounts").read_text().splitlines()
        except OSError:
            return
        prefix = str(self.root) + "/"
        targets = [line.split()[1] for line in mounts if len(line.split()) > 1 and line.split()[1].startswith(prefix)]
        for target in sorted(targets, key=len, reverse=True):
            subprocess.run(["umount", "-l", target], capture_output=True, timeout=30)


@pytest.fixture(scope="session")
def dockerd():
    dockerd_bin = _find("dockerd", "/usr/sbin/dockerd", "/usr/bin/dockerd")
    # The CLI from the same package as the daemon (another docker CLI may sit earlier on PATH).
    docker_bin = _find("docker", "/usr/bin/docker")
    missing = []
    if dockerd_bin is None or docker_bin is None:
        missing.append("dockerd/docker (apt-get install docker.io)")
    if not _is_static_elf(BUSYBOX):
        missing.append(f"a static {BUSYBOX} (apt-get install busybox-static)")
    if missing:
        why = f"{' and '.join(missing)} missing; run scripts/install-test-deps"
        if os.environ.get("CI"):
            pytest.fail(f"{why} (CI is set, so Docker tests must run)", pytrace=False)
        pytest.skip(why)

    daemon = Dockerd(dockerd_bin, docker_bin)
    try:
        daemon.wait_ready()
        daemon.import_busybox()
    except BaseException as exc:
        tail = daemon.log_tail()
        daemon.stop()
        if isinstance(exc, RuntimeError):
            pytest.fail(f"{exc}\n{tail}", pytrace=False)
        raise
    try:
        yield daemon
    finally:
        daemon.stop()


def docker_run(daemon: Dockerd, server, *opts: str, script: str) -> subprocess.CompletedProcess:
    """`docker run --rm` of `sh -c script` with the awslogs driver pointed at `server`."""
    name = unique("neph-")
    args = ["run", "--rm", "--name", name, "--network", "none",
            "--log-driver", "awslogs",
            "--log-opt", "awslogs-region=us-east-1",
            "--log-opt", f"awslogs-endpoint={server.url}",
            *opts, "local/busybox", "sh", "-c", script]
    try:
        return daemon.cli(*args, timeout=RUN_DEADLINE_S)
    except subprocess.TimeoutExpired:
        daemon.cli("rm", "-f", name, timeout=60)
        raise AssertionError(f"docker run did not finish within {RUN_DEADLINE_S}s\n{daemon.log_tail()}") from None


def group_names(logs, prefix: str) -> list[str]:
    return [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix=prefix)["logGroups"]]


def test_awslogs_driver_creates_group_and_ships_lines_in_order(dockerd, start_server):
    srv = start_server()
    logs = boto_client(srv, "logs")
    group = "/aws/batch/custom/env-queue"
    assert group_names(logs, group) == []

    proc = docker_run(dockerd, srv,
                      "--log-opt", f"awslogs-group={group}",
                      "--log-opt", "awslogs-create-group=true",
                      script="for i in 1 2 3 4 5; do echo line-$i; done")
    assert proc.returncode == 0, (proc.stderr.decode(errors="replace"), dockerd.log_tail())

    wait_for(lambda: group_names(logs, group), lambda names: names == [group],
             timeout=SHIP_DEADLINE_S, what=f"log group {group} created by the driver")
    streams = [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group)["logStreams"]]
    assert len(streams) == 1, streams
    assert re.fullmatch(r"[0-9a-f]{64}", streams[0]), streams  # default awslogs-stream: container ID
    events = wait_for(lambda: read_stream(logs, group, streams[0]), lambda ev: len(ev) >= 5,
                      timeout=SHIP_DEADLINE_S, what="5 events from the container")
    assert messages(events) == [f"line-{i}" for i in range(1, 6)]
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)


def test_awslogs_driver_appends_to_an_existing_stream(dockerd, start_server):
    """A pre-created group and stream: the driver's CreateLogStream gets
    ResourceAlreadyExistsException, which it must recognise and carry on."""
    srv = start_server()
    logs = boto_client(srv, "logs")
    group = f"/neph/docker/{unique()}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="fixed")
    for run in ("a", "b"):
        proc = docker_run(dockerd, srv,
                          "--log-opt", f"awslogs-group={group}",
                          "--log-opt", "awslogs-stream=fixed",
                          script=f"echo run-{run}-1; echo run-{run}-2")
        assert proc.returncode == 0, (proc.stderr.decode(errors="replace"), dockerd.log_tail())
        wait_for(lambda: messages(read_stream(logs, group, "fixed")),
                 lambda got: f"run-{run}-2" in got, timeout=SHIP_DEADLINE_S,
                 what=f"lines of run {run}")
    assert messages(read_stream(logs, group, "fixed")) == ["run-a-1", "run-a-2", "run-b-1", "run-b-2"]
    assert [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group)["logStreams"]] == ["fixed"]


def test_awslogs_driver_without_create_group_fails_on_missing_group(dockerd, start_server):
    srv = start_server()
    logs = boto_client(srv, "logs")
    group = f"/neph/docker/{unique()}"
    proc = docker_run(dockerd, srv, "--log-opt", f"awslogs-group={group}", script="echo never")
    stderr = proc.stderr.decode(errors="replace")
    assert proc.returncode != 0, stderr
    assert "failed to initialize logging driver" in stderr and "ResourceNotFoundException" in stderr, stderr
    assert group_names(logs, group) == []
