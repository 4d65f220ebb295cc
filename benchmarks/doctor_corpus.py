"""Re-run the doctor over local checkouts of the corpus and compare with the judged list.

    python benchmarks/doctor_corpus.py /path/to/checkouts

``/path/to/checkouts`` holds one folder per project named ``owner+name`` (at the commits in
``doctor_corpus.tsv``). Prints, per project, findings that are not in the judged list (to read and
judge) and judged true findings that are no longer found (regressions). Exit 1 when there are any.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from labkit.doctor import Options, scan  # noqa: E402


def judged() -> dict[str, dict[tuple[str, int, str], str]]:
    by_project: dict[str, dict[tuple[str, int, str], str]] = {}
    with open(HERE / "doctor_corpus.tsv", encoding="utf-8") as handle:
        rows = csv.DictReader((line for line in handle if not line.startswith("#")), delimiter="\t")
        for row in rows:
            if row["run"] in ("after", "during"):
                by_project.setdefault(row["project"], {})[(row["file"], int(row["line"]), row["rule"])] = row["verdict"]
    return by_project


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    root = Path(argv[0])
    problems = 0
    for project, verdicts in sorted(judged().items()):
        folder = root / project.replace("/", "+")
        if not folder.is_dir():
            print(f"{project}: no checkout at {folder}; skipped")
            continue
        found = {(f.path, f.line, f.rule) for f in scan(folder, Options()).findings}
        new = sorted(found - set(verdicts))
        lost = sorted(k for k, v in verdicts.items() if v in ("TP", "unjudged") and k not in found)
        back = sorted(k for k, v in verdicts.items() if v.startswith("FP") and k in found)
        for label, items in (("to judge", new), ("no longer found", lost), ("false positive back", back)):
            for path, line, rule in items:
                print(f"{project}: {label}: {path}:{line} {rule}")
        problems += len(new) + len(lost) + len(back)
        print(f"{project}: {len(found)} findings, {len(new)} to judge, {len(lost)} lost, {len(back)} FP back")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
