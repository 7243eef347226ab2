#!/usr/bin/env bash
# Renders an HTML report in a real browser (Debian's chromium-headless-shell) and checks that it
# rendered: a screenshot with non-blank charts in the series colours, no console messages (the
# page has no scripts, so any would be an error such as a blocked load), and the title and metric
# names in the DOM. Skips (77) only when no browser can run here and CI is not set; in CI a missing
# browser fails the test.
#   check_report_browser.sh FIXTURE WORK_DIR
set -euo pipefail
fixture=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
browser=$(command -v chromium-headless-shell || command -v chromium || true)
# Root (CI containers) needs --no-sandbox, small container /dev/shm --disable-dev-shm-usage; the rest
# keeps the run quiet and offline.
flags=(--no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run --hide-scrollbars --disable-extensions --disable-background-networking)
if [[ -z $browser ]] || ! timeout 60 "$browser" "${flags[@]}" --dump-dom about:blank >/dev/null 2>&1; then
  msg="no runnable headless Chromium (install chromium-headless-shell: scripts/setup.sh)"
  if [[ -n ${CI:-} ]]; then
    echo "FAIL: $msg" >&2
    exit 1
  fi
  echo "SKIP: $msg"
  exit 77
fi

report=$work/report.html
"$fixture" report "$report" 8 --per-batch
grep -q '<meta http-equiv="refresh"' "$report" && { echo "FAIL: a finished report still reloads" >&2; exit 1; }
if grep -Eq '<script|<link|<img|<iframe| src=|url\(' "$report"; then
  echo "FAIL: the report is not self-contained" >&2
  exit 1
fi

timeout 120 "$browser" "${flags[@]}" --window-size=1400,1800 --screenshot="$work/report.png" \
  --enable-logging=stderr --v=0 "file://$report" 2>"$work/browser.log" >/dev/null
timeout 120 "$browser" "${flags[@]}" --dump-dom "file://$report" 2>>"$work/browser.log" >"$work/dom.html"
if grep -q 'CONSOLE' "$work/browser.log"; then
  echo "FAIL: console messages while rendering:" >&2
  grep 'CONSOLE' "$work/browser.log" >&2
  exit 1
fi
for want in '<title>xgrad blobs MLP</title>' '>loss<' '>accuracy<' '>learning rate<' '>validation<' \
  'loss per batch' 'time per epoch' 'Test metrics' 'Total params'; do
  grep -q -- "$want" "$work/dom.html" || { echo "FAIL: '$want' not in the DOM" >&2; exit 1; }
done

py=/usr/bin/python3
[[ -x $py ]] || py=python3
"$py" - "$work/report.png" <<'PY'
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
w, h = im.size
px = im.load()
def near(c, want, tol=40):
    return all(abs(a - b) <= tol for a, b in zip(c, want))
train = val = ink = 0
for y in range(0, h, 2):
    for x in range(0, w, 2):
        c = px[x, y]
        if c != (255, 255, 255):
            ink += 1
        if near(c, (0x1f, 0x77, 0xb4)):
            train += 1
        elif near(c, (0xff, 0x7f, 0x0e)):
            val += 1
print(f"screenshot {w}x{h}: {ink} non-white, {train} train-coloured, {val} validation-coloured (sampled)")
assert ink > 0.02 * (w // 2) * (h // 2), "the page looks blank"
assert train > 300, "no training curves drawn"
assert val > 100, "no validation curves drawn"
PY
echo "report rendered: ok"
