#!/usr/bin/env bash
# Regenerates tests/data/yaml_v3_aliasing.jsonl: random aliasing document shapes, answered by
# gopkg.in/yaml.v3 (Debian's golang-gopkg-yaml.v3-dev, 3.0.1, with golang-1.19-go).
#   scripts/yaml-v3-aliasing/run.sh
set -euo pipefail
cd "$(dirname "$0")"
for pkg in golang-1.19-go golang-gopkg-yaml.v3-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || apt-get install -y -qq "$pkg" >&2
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src/oracle" && cp main.go "$work/src/oracle/"
(cd "$work/src/oracle" && GOPATH="$work:/usr/share/gocode" GO111MODULE=off \
  /usr/lib/go-1.19/bin/go build -o "$work/oracle" .)
python3 - <<'PY' | "$work/oracle" > ../../tests/data/yaml_v3_aliasing.jsonl
import json, random
random.seed(7)
for _ in range(300):
    depth = random.choice([1, 2, 3])
    print(json.dumps({
        "k": random.choice([3, 10, 50, 200, 999, 2000]),
        "fanouts": [random.randint(2, 12) for _ in range(depth - 1)],
        "m": random.randint(1, 400),
        "plain": random.choice([0, 0, 100, 5000, 50000]),
        "q": random.choice([0, 10, 3000, 100000]),
        "refused": False,
    }))
PY
