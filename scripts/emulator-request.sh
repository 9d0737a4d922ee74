#!/usr/bin/env bash
# Sends one request to the Call Automation emulator (`calltrail emulator`), signed as the
# Communication Services SDKs sign: HMAC-SHA256 under the base64-decoded access key over
# "VERB\n<path and query>\n<x-ms-date>;<host>;<base64 SHA-256 of the body>".
#
#   scripts/emulator-request.sh METHOD PATH [JSON-BODY]
#
# EMULATOR_ENDPOINT (default http://127.0.0.1:8090) and EMULATOR_ACCESS_KEY (default: the
# development key of config/base.yaml). Prints the answer's body, then `HTTP <status>`.
# Needs curl, openssl, base64 and od.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 METHOD PATH [JSON-BODY]" >&2
  exit 2
fi
method=$(printf %s "$1" | tr '[:lower:]' '[:upper:]')
path=$2
body=${3-}
endpoint=${EMULATOR_ENDPOINT:-http://127.0.0.1:8090}
endpoint=${endpoint%/}
key=${EMULATOR_ACCESS_KEY:-9++YlDZi6bE3xvIM2iirXEFZXknu30IJ1JX4mTrZxVM=}
host=${endpoint#*://}
date=$(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S GMT')
hash=$(printf %s "$body" | openssl dgst -sha256 -binary | base64)
hexkey=$(printf %s "$key" | base64 -d | od -An -v -tx1 | tr -d ' \n')
signature=$(printf '%s\n%s\n%s;%s;%s' "$method" "$path" "$date" "$host" "$hash" |
  openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hexkey" -binary | base64)
curl -sS -X "$method" "$endpoint$path" \
  -H "x-ms-date: $date" \
  -H "x-ms-content-sha256: $hash" \
  -H "authorization: HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=$signature" \
  -H 'content-type: application/json' \
  --data-binary "$body" \
  -w '\nHTTP %{http_code}\n'
