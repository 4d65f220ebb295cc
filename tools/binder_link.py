"""Print the Binder link and README badge for this repository, read from its git remote.

    python tools/binder_link.py            # uses the remote "origin"
    python tools/binder_link.py --remote upstream --ref main

The link opens JupyterLab on notebooks/00-setup.ipynb. Binder builds from GitHub; a remote
elsewhere gets a clear message instead of a link that cannot work.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

NOTEBOOK = "notebooks/00-setup.ipynb"
GITHUB = re.compile(r"^(?:https://github\.com/|git@github\.com:|ssh://git@github\.com/)(?P<repo>[\w.-]+/[\w.-]+?)(?:\.git)?/?$")


def binder_url(remote_url: str, ref: str) -> str:
    found = GITHUB.match(remote_url.strip())
    if not found:
        raise ValueError(f"{remote_url!r} is not a GitHub repository; mybinder.org builds from GitHub "
                         "(push the repository there, or use your BinderHub's own URL scheme)")
    return f"https://mybinder.org/v2/gh/{found['repo']}/{ref}?urlpath=lab/tree/{NOTEBOOK}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--remote", default="origin")
    parser.add_argument("--ref", default="HEAD", help="branch, tag or commit Binder builds (default: HEAD)")
    args = parser.parse_args()
    remote = subprocess.run(["git", "remote", "get-url", args.remote], capture_output=True, text=True)
    if remote.returncode != 0:
        print(f"no git remote named {args.remote!r}: push this repository to GitHub first "
              f"(git remote add {args.remote} https://github.com/OWNER/REPO.git)", file=sys.stderr)
        return 1
    try:
        url = binder_url(remote.stdout, args.ref)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(url)
    print(f"[![Binder](https://mybinder.org/badge_logo.svg)]({url})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
