"""Print this repository's Binder links, pinned to a tag or commit: one per notebook.

    python tools/binder_link.py                    # pinned to HEAD's tag, else its commit
    python tools/binder_link.py --ref workshop-2026-12-04
    python tools/binder_link.py --markdown         # a table with a badge per notebook, to paste
    python tools/binder_link.py --hub https://hub.example.org   # nbgitpuller links for a JupyterHub

Why pinned: mybinder.org builds an image per commit. A link to a branch (``HEAD``, ``main``)
follows new pushes, so a push during the workshop makes every late joiner wait for a fresh
build; a tag or a commit keeps pointing at the image built (and warmed) the day before.

It also prints the build link: open it once (a browser tab, or ``curl -N``) the day before,
and watch it stream the build log to the end; learners then get the cached image.

Binder builds from GitHub; a remote elsewhere gets a clear message instead of a link that
cannot work. ``--hub`` links work for any JupyterHub with nbgitpuller installed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parents[1]
BINDER = "https://mybinder.org"
GITHUB = re.compile(
    r"^(?:https://github\.com/|git@github\.com:|ssh://git@github\.com/)(?P<repo>[\w.-]+/[\w.-]+?)(?:\.git)?/?$"
)


def github_repo(remote_url: str) -> str:
    found = GITHUB.match(remote_url.strip())
    if not found:
        raise ValueError(
            f"{remote_url.strip()!r} is not a GitHub repository; mybinder.org builds from GitHub "
            "(push the repository there, or use your BinderHub's own URL scheme)"
        )
    return found["repo"]


def binder_url(remote_url: str, ref: str, notebook: str = "notebooks/00-setup.ipynb") -> str:
    """The link that builds (or reuses) the image of ``ref`` and opens JupyterLab on ``notebook``."""
    return f"{BINDER}/v2/gh/{github_repo(remote_url)}/{quote(ref, safe='')}?urlpath=lab/tree/{notebook}"


def build_url(remote_url: str, ref: str) -> str:
    """Binder's build endpoint: it streams the build log and ends when the image is ready."""
    return f"{BINDER}/build/gh/{github_repo(remote_url)}/{quote(ref, safe='')}"


def hub_url(hub: str, clone_url: str, ref: str, notebook: str, folder: str | None = None) -> str:
    """An nbgitpuller link: the hub pulls the repository into the learner's home (into ``folder``,
    default the repository's name; merging, never overwriting their changes), then opens the
    notebook in JupyterLab."""
    params = {"repo": clone_url.strip(), "branch": ref}
    if folder is None:
        folder = clone_url.strip().rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    else:
        params["targetpath"] = folder
    params["urlpath"] = f"lab/tree/{folder}/{notebook}"
    return f"{hub.rstrip('/')}/hub/user-redirect/git-pull?{urlencode(params)}"


def notebooks() -> list[str]:
    return [f"notebooks/{p.name}" for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))]


def _git(*args: str) -> str | None:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def default_ref() -> str:
    """HEAD's tag when it has one (the readable pin), else its full commit id."""
    return _git("describe", "--tags", "--exact-match", "HEAD") or _git("rev-parse", "HEAD") or "HEAD"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--remote", default="origin")
    parser.add_argument(
        "--ref",
        help="tag or commit Binder builds (default: HEAD's tag, else its commit); "
        "a branch works but follows every push",
    )
    parser.add_argument("--markdown", action="store_true", help="a Markdown table with a badge per notebook")
    parser.add_argument("--hub", help="a JupyterHub's URL: print nbgitpuller links for it instead")
    parser.add_argument(
        "--folder",
        help="with --hub: where in the learner's home the notebooks go "
        "(default: the repository's name; work/<name> on Zero to JupyterHub "
        "with deploy/hub/z2jh-values.yaml)",
    )
    args = parser.parse_args()
    remote = _git("remote", "get-url", args.remote)
    if remote is None:
        print(
            f"no git remote named {args.remote!r}: push this repository to GitHub first "
            f"(git remote add {args.remote} https://github.com/OWNER/REPO.git)",
            file=sys.stderr,
        )
        return 1
    ref = args.ref or default_ref()
    if args.hub:
        for notebook in notebooks():
            print(f"{Path(notebook).stem:<36} {hub_url(args.hub, remote, ref, notebook, args.folder)}")
        return 0
    try:
        links = [(Path(nb).stem, binder_url(remote, ref, nb)) for nb in notebooks()]
        build = build_url(remote, ref)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 1
    if ref in {"HEAD", "main", "master"} or _git("show-ref", "--verify", "--quiet", f"refs/heads/{ref}") is not None:
        print(
            f"warning: {ref!r} is a branch: the links follow every push, and a push during the workshop "
            "makes late joiners wait for a new build. Pin a tag or a commit instead.",
            file=sys.stderr,
        )
    # a commit no remote-tracking branch holds was probably never pushed (tags cannot be told
    # apart offline, so they are not checked)
    is_tag = _git("show-ref", "--verify", "--quiet", f"refs/tags/{ref}") is not None
    if (
        not is_tag
        and _git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        and not _git("branch", "-r", "--contains", ref, "--list", f"{args.remote}/*")
    ):
        print(
            f"warning: {ref} is on no branch of {args.remote} as far as this clone knows: push it "
            "before building the link",
            file=sys.stderr,
        )
    print(f"build the day before (open once, wait for 'Launching server' / 'ready'): {build}")
    if args.markdown:
        print("\n| notebook | open on Binder |\n|---|---|")
        for name, url in links:
            print(f"| `{name}` | [![Binder]({BINDER}/badge_logo.svg)]({url}) |")
    else:
        width = max(len(name) for name, _ in links)
        for name, url in links:
            print(f"{name:<{width}}  {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
