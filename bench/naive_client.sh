#!/bin/sh
# The benchmark's naive baseline: a CIBA poll client made of curl calls, one new connection per request.
# Environment: BASE (issuer URL, ends in /), CA (CA file), AUTH_FORM (file holding
# client_id=...&client_secret=...), HINT (login_hint JSON), MSG (binding message).
# Prints the binding message, then polls at the announced interval; exit 0 on tokens.
set -u
resp=$(curl -sS --cacert "$CA" -d @"$AUTH_FORM" -d scope=openid --data-urlencode "login_hint=$HINT" \
  --data-urlencode "binding_message=$MSG" "${BASE}bc-authorize") || exit 2
id=$(printf %s "$resp" | sed -n 's/.*"auth_req_id": *"\([^"]*\)".*/\1/p')
interval=$(printf %s "$resp" | sed -n 's/.*"interval": *\([0-9]*\).*/\1/p')
[ -n "$id" ] || exit 2
echo "Approve the request \"$MSG\" on your phone"
while :; do
  sleep "${interval:-5}"
  # auth_req_id goes in on stdin, never on a command line.
  resp=$(printf 'grant_type=urn:openid:params:grant-type:ciba&auth_req_id=%s' "$id" |
    curl -sS --cacert "$CA" -d @"$AUTH_FORM" -d @- "${BASE}oauth/token") || exit 3
  case $resp in
    *'"id_token"'*) exit 0 ;;
    *authorization_pending*) ;;
    *slow_down*) interval=$((${interval:-5} + 5)) ;;
    *) exit 1 ;;
  esac
done
