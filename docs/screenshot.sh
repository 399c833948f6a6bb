#!/bin/sh
# Regenerate docs/img/report-F01.png, the README's picture of the F01 report: the browser tests
# render the report, open it in Chromium at 1280 x 900 and write the top of the page.
# Needs Chromium and Playwright for Python (see README, "Browser tests"). Run from anywhere:
#   sh docs/screenshot.sh            (PYTHON=... to choose the interpreter, default .venv/bin/python)
set -eu
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
MRATRUST_SCREENSHOTS="$out" MRATRUST_REQUIRE_BROWSER=1 "${PYTHON:-.venv/bin/python}" -m pytest -q \
    tests/browser -k test_every_report_opens_offline_and_fits_a_phone
cp "$out/report-F01.png" docs/img/report-F01.png
echo "wrote docs/img/report-F01.png"
