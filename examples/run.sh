#!/usr/bin/env bash
# The demo: installs what is missing (Debian/Ubuntu), builds the examples and runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
source cmake/install-packages.sh
dpkit_install_packages cmake ninja-build g++ libboost-dev libfmt-dev
cmake --workflow --preset demo >/dev/null
echo "== Laplace noise on a count (examples/laplace_count.cpp)"
build/demo/examples/laplace_count
echo
echo "== A randomized-response survey about smoking: a die and a coin (examples/smoking_survey.cpp)"
build/demo/examples/smoking_survey
echo
echo "== A weekly series under a budget of epsilon 0.5 (examples/weekly_series.cpp)"
build/demo/examples/weekly_series
if [ -x build/demo/examples/audit_your_mechanism ]; then
    echo
    echo "== Auditing a home-made mechanism, then dpkit's (examples/audit_your_mechanism.cpp)"
    build/demo/examples/audit_your_mechanism build/demo
fi
