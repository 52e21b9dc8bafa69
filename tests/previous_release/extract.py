"""Writes tests/previous_release/statements.tsv: every SQL statement written out
whole in src/store/sql/*.rs at a commit (the previous release), for
tests/rolling_deploy.rs to prepare against the current schema.

    python3 tests/previous_release/extract.py <commit> > tests/previous_release/statements.tsv

Statements assembled at run time (batches' `VALUES {}`, `IN {}`, named pieces)
are left out: their fixed parts appear in the whole statements too.
"""
import re
import subprocess
import sys

commit = sys.argv[1]
files = subprocess.run(
    ["git", "ls-tree", "--name-only", commit, "src/store/sql/"],
    capture_output=True, text=True, check=True,
).stdout.split()
print(f"# Every SQL statement written out whole in src/store/sql/*.rs at {commit}.")
print(f"# Made by: python3 tests/previous_release/extract.py {commit}")
seen = set()
for path in sorted(f for f in files if f.endswith(".rs")):
    source = subprocess.run(
        ["git", "show", f"{commit}:{path}"], capture_output=True, text=True, check=True
    ).stdout.split("#[cfg(test)]")[0]
    for literal in re.finditer(r'"((?:[^"\\]|\\.)*)"', source, re.S):
        text = re.sub(r"\\\n\s*", " ", literal.group(1))
        text = " ".join(text.replace('\\"', '"').replace("\\n", " ").split())
        if not re.match(r"(SELECT|INSERT|UPDATE|DELETE|WITH)\b", text) or "{" in text:
            continue
        if text not in seen:
            seen.add(text)
            print(f"{path.rsplit('/', 1)[-1]}\t{text}")
