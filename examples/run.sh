#!/usr/bin/env bash
# The demo: installs what is missing (Debian/Ubuntu), builds the examples and runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
source cmake/install-packages.sh
dpkit_install_packages cmake ninja-build g++ libboost-dev libfmt-dev libcli11-dev libeigen3-dev
cmake --workflow --preset demo >/dev/null
echo "== dpkit-describe: a private summary of a table (examples/dpkit_describe/, on made-up data)"
build/demo/examples/sample_table build/demo/participants.csv
echo
echo "\$ dpkit-describe participants.csv --bounds age=0:120 --bounds height_cm=100:220 --categories smoker=yes,no \\"
echo "      --keys city --delta 1e-6 --epsilon 1 --hist height_cm --bins 30 --svg participants_height.svg"
(cd build/demo && examples/dpkit_describe/dpkit-describe participants.csv --bounds age=0:120 --bounds height_cm=100:220 \
    --categories smoker=yes,no --keys city --delta 1e-6 --epsilon 1 --hist height_cm --bins 30 --svg participants_height.svg)
echo "(the histogram is in build/demo/participants_height.svg)"
echo
echo "== Laplace noise on a count (examples/laplace_count.cpp)"
build/demo/examples/laplace_count
echo
echo "== A randomized-response survey about smoking: two coins, and a four-answer variant (examples/smoking_survey.cpp)"
build/demo/examples/smoking_survey
echo
echo "== A weekly series under a budget of epsilon 0.5 (examples/weekly_series.cpp)"
build/demo/examples/weekly_series
echo
echo "== The mean height with outliers: a leaky notebook against bounded_mean (examples/heights_with_outliers.cpp)"
build/demo/examples/heights_with_outliers
echo
echo "== Two analysts with budgets of their own: a noisy weekly series and a trend (examples/analyst_budgets.cpp)"
build/demo/examples/analyst_budgets
echo
echo "== Input (local) against output (central) privacy on a mean age (examples/input_vs_output_privacy.cpp)"
build/demo/examples/input_vs_output_privacy
echo
echo "== Typing speed and age groups, bounded per user (examples/engagement_per_user.cpp)"
build/demo/examples/engagement_per_user
if [ -x build/demo/examples/audit_your_mechanism ]; then
    echo
    echo "== Auditing a home-made mechanism, then dpkit's (examples/audit_your_mechanism.cpp)"
    build/demo/examples/audit_your_mechanism build/demo
fi
