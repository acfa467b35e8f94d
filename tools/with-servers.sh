#!/usr/bin/env bash
# Run a command with the loopback servers the vignettes and tests use when the
# environment names them: moto's S3 server (with the journey's two buckets)
# and the GitHub stand-in (inst/tools/github-standin.py). Both are stopped
# when the command ends. Usage: tools/with-servers.sh PYTHON -- command...
set -euo pipefail
PY="$1"; shift; [ "$1" = "--" ] && shift
HERE="$(cd "$(dirname "$0")/.." && pwd)"
STATE="$(mktemp -d)"
cleanup() { kill "${MOTO_PID:-}" "${GH_PID:-}" 2>/dev/null || true; rm -rf "$STATE"; }
trap cleanup EXIT

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

S3_PORT=$(free_port)
LD_LIBRARY_PATH= "$(dirname "$PY")/moto_server" -H 127.0.0.1 -p "$S3_PORT" >"$STATE/moto.log" 2>&1 &
MOTO_PID=$!
export DATOM_S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
export AWS_ACCESS_KEY_ID=datom-vignettes AWS_SECRET_ACCESS_KEY=datom-vignettes-secret AWS_DEFAULT_REGION=us-east-1
export DATOM_S3_BUCKET=study-001-datom DATOM_GOV_BUCKET=acme-datom-gov
for i in $(seq 1 100); do
  if LD_LIBRARY_PATH= "$PY" - "$DATOM_S3_ENDPOINT" <<'PYEOF' 2>/dev/null; then break; fi
import sys, boto3
c = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                 aws_access_key_id="datom-vignettes", aws_secret_access_key="datom-vignettes-secret")
for b in ("study-001-datom", "acme-datom-gov"):
    c.create_bucket(Bucket=b)
PYEOF
  kill -0 "$MOTO_PID" 2>/dev/null || { cat "$STATE/moto.log"; echo "moto_server did not start" >&2; exit 1; }
  [ "$i" = 100 ] && { echo "moto_server did not answer" >&2; exit 1; }
  sleep 0.2
done

export GITHUB_PAT="ghp_datomvignettes0001"
mkfifo "$STATE/gh.out"
LD_LIBRARY_PATH= "$PY" "$HERE/inst/tools/github-standin.py" --root "$STATE/gh" --port 0 --token "$GITHUB_PAT" \
  >"$STATE/gh.out" 2>"$STATE/gh.log" &
GH_PID=$!
exec 3<"$STATE/gh.out"
URL=""
while read -r -t 30 line <&3; do
  case "$line" in READY*) URL="${line#READY }"; break ;; esac
done
[ -n "$URL" ] || { cat "$STATE/gh.log"; echo "GitHub stand-in did not start" >&2; exit 1; }
( cat <&3 >/dev/null ) &
export DATOM_GITHUB_API_URL="$URL/api/v3"
echo "servers: S3 $DATOM_S3_ENDPOINT, GitHub stand-in $DATOM_GITHUB_API_URL"
"$@"
