#!/bin/sh
# Writes the golden run and sweep folders under runs/ with the installed optrun (made with main at
# 4040ab7, before issue 15's compare refactoring). Run from this folder: ./make.sh
# The expected outputs are written by `python make_expected.py` after it. Re-making the folders
# changes their ids and timings, so the expected files must be made again with them.
set -e
cd "$(dirname "$0")"
rm -rf runs
export OPTRUN_RUNS_DIR=runs
for c in adam amsgrad gd sweep-a sweep-b; do
    optrun run "configs/$c.yaml" --quiet
    sleep 1  # distinct, ordered start times
done
