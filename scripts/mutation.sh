#!/usr/bin/env bash
# Mutation testing (mutmut 3) of some modules against their unit tests, in a throwaway clone:
#   scripts/mutation.sh [MODULE ...]     (default: verdicts episodes levels)
# Prints mutmut's summary (killed / survived / no tests) and the survivors per function;
# `cd <clone> && .venv/bin/mutmut show NAME` shows one. Nothing in this checkout is changed.
# mutmut expects the package under ./, src/ or source/: the clone links src -> include.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
modules=("${@:-verdicts episodes levels}")
read -r -a modules <<< "${modules[*]}"
work="$(mktemp -d /tmp/logintel-mutation.XXXXXX)"
git clone -q "$here" "$work/repo"
cd "$work/repo"
ln -s include src
python3.11 -m venv .venv
.venv/bin/pip install --quiet -r requirements.txt mutmut==3.8.1 2>&1 | grep -v "is ignored: it is neither" || true
only="" tests=""
for m in "${modules[@]}"; do
  only+="\"src/logintel/$m.py\", "
  [ -f "tests/unit/test_$m.py" ] && tests+="\"tests/unit/test_$m.py\", "
done
cat >> pyproject.toml <<EOF

[tool.mutmut]
source_paths = ["src/logintel"]
only_mutate = [${only%, }]
pytest_add_cli_args_test_selection = [${tests%, }]
pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-x"]
also_copy = ["tests", "scripts", "bench", "dags", "plugins"]
EOF
export GX_ANALYTICS_ENABLED=False LOGINTEL_HOME="$work/repo"
.venv/bin/mutmut run --max-children "${MUTATION_CHILDREN:-1}" > "$work/run.log" 2>&1 || true
.venv/bin/mutmut results 2>/dev/null > "$work/results.txt" || true
# the run's last status line: "done/total  🎉 killed 🫥 no-tests ⏰ timeout 🤔 suspicious 🙁 survived ..."
last="$(grep -oE '[0-9]+/[0-9]+ +🎉 [0-9]+ +🫥 [0-9]+ +⏰ [0-9]+ +🤔 [0-9]+ +🙁 [0-9]+' "$work/run.log" | tail -1)"
echo "last status: $last"
total=$(sed -E 's|^[0-9]+/([0-9]+).*|\1|' <<< "$last")
killed=$(sed -E 's|.*🎉 ([0-9]+).*|\1|' <<< "$last")
echo "killed: $killed of $total mutants (the others survived or had no test: $work/results.txt)"
echo "survivors per function:"
grep " survived" "$work/results.txt" | awk '{print $1}' | sed 's/__mutmut_[0-9]*:*//' | sort | uniq -c | sort -rn
echo "clone kept at $work/repo"
