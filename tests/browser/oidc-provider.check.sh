#!/usr/bin/env bash
# End-to-end check of oidc-provider.mjs with curl only (node for PKCE,
# decoding and signature verification): discovery, JWKS, an authorization
# code flow with PKCE through the login page, the code exchange with
# client_secret_basic, the ID token's claims and signature, userinfo, and the
# failures that must fail (no PKCE, code replay, wrong verifier, unknown user).
# A second and third authorization ride on the provider's session cookie
# (no login page) and exercise client_secret_post.
#
#   bash tests/browser/oidc-provider.check.sh     (needs `npm ci` in tests/browser)
#
# Exits non-zero on the first failure.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
provider_pid=
cleanup() {
  if [[ -n $provider_pid ]] && kill -0 "$provider_pid" 2>/dev/null; then
    kill "$provider_pid" 2>/dev/null || true
    wait "$provider_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  if [[ -s $work/provider.err ]]; then
    echo "--- provider stderr ---" >&2
    cat "$work/provider.err" >&2
  fi
  exit 1
}
step() { printf '\n== %s\n' "$*"; }
# query_param URL NAME: a query parameter of URL (empty if absent)
query_param() {
  node -e 'console.log(new URL(process.argv[1]).searchParams.get(process.argv[2]) ?? "")' "$1" "$2"
}
# json FILE EXPR: evaluate EXPR against the JSON in FILE (bound to `j`)
json() {
  node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const v = eval(process.argv[2]); console.log(typeof v === "string" ? v : JSON.stringify(v))' "$1" "$2"
}

CLIENT_ID=mavis
CLIENT_SECRET=SECRET
REDIRECT_URI=http://127.0.0.1:3000/auth/callback
jar=$work/cookies.txt

step "start the provider"
node "$here/oidc-provider.mjs" --port 0 \
  --client-id "$CLIENT_ID" --client-secret "$CLIENT_SECRET" \
  --redirect-uri "$REDIRECT_URI" --redirect-uri http://localhost:3000/auth/callback \
  --post-logout-redirect-uri http://127.0.0.1:3000/ \
  --user nurse@example.com:"Test User" --user superuser@example.com:"Super User" \
  >"$work/provider.out" 2>"$work/provider.err" &
provider_pid=$!
for _ in $(seq 100); do
  [[ -s $work/provider.out ]] && break
  kill -0 "$provider_pid" 2>/dev/null || fail "provider exited before it was ready"
  sleep 0.1
done
ready=$(cat "$work/provider.out")
echo "stdout: $ready"
[[ $ready =~ ^OIDC\ provider\ at\ (http://127\.0\.0\.1:[0-9]+)$ ]] || fail "unexpected ready line: $ready"
ISSUER=${BASH_REMATCH[1]}

step "discovery document"
curl -fsS "$ISSUER/.well-known/openid-configuration" -o "$work/discovery.json"
for key in issuer authorization_endpoint token_endpoint jwks_uri userinfo_endpoint end_session_endpoint \
  code_challenge_methods_supported token_endpoint_auth_methods_supported id_token_signing_alg_values_supported \
  scopes_supported response_types_supported; do
  printf '%s: %s\n' "$key" "$(json "$work/discovery.json" "j['$key']")"
done
[[ $(json "$work/discovery.json" j.issuer) == "$ISSUER" ]] || fail "issuer mismatch"
AUTHORIZE=$(json "$work/discovery.json" j.authorization_endpoint)
TOKEN=$(json "$work/discovery.json" j.token_endpoint)
JWKS=$(json "$work/discovery.json" j.jwks_uri)
USERINFO=$(json "$work/discovery.json" j.userinfo_endpoint)
[[ $(json "$work/discovery.json" 'j.code_challenge_methods_supported.join()') == S256 ]] || fail "S256 not advertised"
[[ $(json "$work/discovery.json" 'j.id_token_signing_alg_values_supported.join()') == RS256 ]] || fail "RS256 not advertised"

step "JWKS"
curl -fsS "$JWKS" -o "$work/jwks.json"
json "$work/jwks.json" 'j.keys.map(({kty, kid, alg, use, e}) => ({kty, kid, alg, use, e}))'
[[ $(json "$work/jwks.json" 'j.keys.filter(k => k.kty === "RSA" && k.alg === "RS256" && !k.d).length') -ge 1 ]] \
  || fail "no public RS256 key in the JWKS"

# pkce_pair: prints "VERIFIER CHALLENGE" (S256)
pkce_pair() {
  node -e '
    const c = require("crypto");
    const v = c.randomBytes(32).toString("base64url");
    console.log(v, c.createHash("sha256").update(v).digest("base64url"));'
}
# random: a fresh state or nonce value
random() { node -e 'console.log(require("crypto").randomBytes(16).toString("base64url"))'; }
# authorize_url CHALLENGE STATE NONCE: the authorization request URL (no PKCE if CHALLENGE is empty)
authorize_url() {
  node -e '
    const [authorize, clientId, redirectUri, challenge, state, nonce] = process.argv.slice(1);
    const u = new URL(authorize);
    u.search = new URLSearchParams({
      response_type: "code", client_id: clientId, redirect_uri: redirectUri,
      scope: "openid email profile", state, nonce,
      ...(challenge ? { code_challenge: challenge, code_challenge_method: "S256" } : {}),
    });
    console.log(u.href);' "$AUTHORIZE" "$CLIENT_ID" "$REDIRECT_URI" "$1" "$2" "$3"
}
# get URL: GET with the cookie jar, no redirects followed; prints "STATUS LOCATION"
get() {
  curl -sS -o "$work/body.html" -b "$jar" -c "$jar" -w '%{http_code} %{redirect_url}\n' "$1"
}
# follow STATUS LOCATION: follow redirects until one goes to the client's
# redirect_uri, printing each hop; sets CALLBACK to that Location.
follow() {
  local status=$1 location=$2
  while :; do
    [[ $status == 30[0-9] ]] || fail "expected a redirect, got $status"
    echo "  $status -> $location"
    if [[ $location == "$REDIRECT_URI"* ]]; then
      CALLBACK=$location
      return
    fi
    read -r status location < <(get "$location")
  done
}

step "authorization request without PKCE is refused"
read -r status location < <(get "$(authorize_url '' "$(random)" "$(random)")")
echo "  $status -> $location"
[[ $location == "$REDIRECT_URI"* ]] || fail "no redirect back to the client"
[[ $(query_param "$location" error) == invalid_request ]] || fail "no invalid_request error"
echo "  error_description: $(query_param "$location" error_description)"

step "authorization request with PKCE (S256), state and nonce"
read -r VERIFIER CHALLENGE < <(pkce_pair)
STATE=$(random)
NONCE=$(random)
url=$(authorize_url "$CHALLENGE" "$STATE" "$NONCE")
echo "  GET $url"
read -r status location < <(get "$url")
echo "  $status -> $location"
[[ $status == 303 && $location == "$ISSUER/interaction/"* ]] || fail "expected a redirect to the interaction page"
INTERACTION=$location
echo "  cookies set:"
sed 's/^#HttpOnly_//' "$jar" | grep -v '^#' | awk 'NF { printf "    %s path=%s\n", $6, $3 }'

step "login page"
read -r status _ < <(get "$INTERACTION")
echo "  GET $INTERACTION -> $status"
[[ $status == 200 ]] || fail "login page status $status"
grep -F '<h1>Sign in</h1>' "$work/body.html" >/dev/null || fail "no <h1>Sign in</h1>"
grep -F '<label for="email">Email address</label>' "$work/body.html" >/dev/null || fail "no email label"
grep -F '<button type="submit">Sign in</button>' "$work/body.html" >/dev/null || fail "no Sign in button"
action=$(grep -o 'action="[^"]*/login"' "$work/body.html" | sed 's/^action="//; s/"$//')
echo "  form action: $action"
LOGIN=$ISSUER$action

step "unknown user is refused"
status=$(curl -sS -o "$work/body.html" -b "$jar" -c "$jar" -w '%{http_code}' \
  --data-urlencode email=nobody@example.com "$LOGIN")
echo "  POST $LOGIN email=nobody@example.com -> $status"
grep -F 'Unknown user' "$work/body.html" >/dev/null || fail "no 'Unknown user' message"
grep -F '<h1>Sign in</h1>' "$work/body.html" >/dev/null || fail "login page not re-rendered"
grep -o '<p class="error"[^>]*>[^<]*</p>' "$work/body.html" | sed 's/^/  /'

step "sign in as nurse@example.com and follow the redirects"
read -r status location < <(curl -sS -o /dev/null -b "$jar" -c "$jar" -w '%{http_code} %{redirect_url}\n' \
  --data-urlencode email=NURSE@example.com "$LOGIN")
echo "  POST $LOGIN email=NURSE@example.com -> $status"
follow "$status" "$location"
callback=$CALLBACK
CODE=$(query_param "$callback" code)
[[ -n $CODE ]] || fail "no code in $callback"
[[ $(query_param "$callback" state) == "$STATE" ]] || fail "state not passed through"
[[ $(query_param "$callback" iss) == "$ISSUER" ]] || fail "iss parameter missing or wrong"
echo "  code=$CODE state=$(query_param "$callback" state) (matches) iss=$(query_param "$callback" iss)"

# exchange CODE VERIFIER OUT [basic|post]: prints the HTTP status
exchange() {
  local auth=(-u "$CLIENT_ID:$CLIENT_SECRET")
  [[ ${4:-basic} == post ]] && auth=(--data-urlencode "client_id=$CLIENT_ID" --data-urlencode "client_secret=$CLIENT_SECRET")
  curl -sS -o "$3" -w '%{http_code}' "${auth[@]}" \
    --data-urlencode grant_type=authorization_code \
    --data-urlencode "code=$1" \
    --data-urlencode "redirect_uri=$REDIRECT_URI" \
    --data-urlencode "code_verifier=$2" \
    "$TOKEN"
}
# check_id_token FILE NONCE: decode, check claims, verify the RS256 signature
check_id_token() {
  node -e '
    const fs = require("fs"), crypto = require("crypto");
    const [tokenFile, jwksFile, issuer, clientId, nonce, email] = process.argv.slice(1);
    const { id_token } = JSON.parse(fs.readFileSync(tokenFile, "utf8"));
    const [h, p, s] = id_token.split(".");
    const header = JSON.parse(Buffer.from(h, "base64url"));
    const payload = JSON.parse(Buffer.from(p, "base64url"));
    console.log("  header:", JSON.stringify(header));
    console.log("  payload:", JSON.stringify(payload, null, 2).replace(/\n/g, "\n  "));
    const jwk = JSON.parse(fs.readFileSync(jwksFile, "utf8")).keys.find((k) => k.kid === header.kid);
    const problems = [];
    if (header.alg !== "RS256") problems.push(`alg ${header.alg}`);
    if (!jwk) problems.push("kid not in JWKS");
    else if (!crypto.verify("RSA-SHA256", Buffer.from(`${h}.${p}`), crypto.createPublicKey({ key: jwk, format: "jwk" }), Buffer.from(s, "base64url")))
      problems.push("bad signature");
    if (payload.iss !== issuer) problems.push(`iss ${payload.iss}`);
    if (payload.aud !== clientId) problems.push(`aud ${payload.aud}`);
    if (payload.nonce !== nonce) problems.push(`nonce ${payload.nonce}`);
    if (payload.email !== email) problems.push(`email ${payload.email}`);
    if (payload.email_verified !== true) problems.push("email_verified");
    if (payload.name !== "Test User" || payload.given_name !== "Test" || payload.family_name !== "User") problems.push("name claims");
    if (!/^[0-9a-f]{32}$/.test(payload.sub)) problems.push(`sub ${payload.sub}`);
    if (payload.exp - payload.iat !== 3600) problems.push(`lifetime ${payload.exp - payload.iat}`);
    if (problems.length) { console.error("  ID token problems:", problems.join(", ")); process.exit(1); }
    console.log("  signature verified against the JWKS; iss, aud, nonce, email, name claims and 1 h lifetime as expected");
  ' "$1" "$work/jwks.json" "$ISSUER" "$CLIENT_ID" "$2" nurse@example.com || fail "ID token check failed"
}

step "exchange the code (client_secret_basic)"
status=$(exchange "$CODE" "$VERIFIER" "$work/token.json")
echo "  POST $TOKEN (Authorization: Basic) -> $status"
[[ $status == 200 ]] || fail "token endpoint said $status: $(cat "$work/token.json")"
json "$work/token.json" '({ ...j, access_token: j.access_token.slice(0, 8) + "…", id_token: j.id_token.slice(0, 16) + "…" })'
check_id_token "$work/token.json" "$NONCE"
SUB1=$(node -e 'const t = JSON.parse(require("fs").readFileSync(process.argv[1])).id_token; console.log(JSON.parse(Buffer.from(t.split(".")[1], "base64url")).sub)' "$work/token.json")

step "userinfo"
curl -fsS -H "Authorization: Bearer $(json "$work/token.json" j.access_token)" "$USERINFO" -o "$work/userinfo.json"
json "$work/userinfo.json" j
[[ $(json "$work/userinfo.json" j.email) == nurse@example.com ]] || fail "userinfo email"

step "the code cannot be used twice"
status=$(exchange "$CODE" "$VERIFIER" "$work/replay.json")
echo "  -> $status $(cat "$work/replay.json")"
[[ $status == 400 && $(json "$work/replay.json" j.error) == invalid_grant ]] || fail "code replay was not refused"

step "second authorization rides on the session (no login page); wrong verifier is refused"
# The code replay above made the provider revoke that grant, so consent is
# (silently) granted again here: one more interaction redirect, no page.
read -r _ CHALLENGE2 < <(pkce_pair)
read -r WRONG_VERIFIER _ < <(pkce_pair)
STATE2=$(random)
read -r status location < <(get "$(authorize_url "$CHALLENGE2" "$STATE2" "$(random)")")
follow "$status" "$location"
callback=$CALLBACK
[[ $(query_param "$callback" state) == "$STATE2" ]] || fail "state not passed through"
status=$(exchange "$(query_param "$callback" code)" "$WRONG_VERIFIER" "$work/wrong.json")
echo "  -> $status $(cat "$work/wrong.json")"
[[ $status == 400 && $(json "$work/wrong.json" j.error) == invalid_grant ]] || fail "wrong code_verifier was not refused"

step "third authorization, exchanged with client_secret_post"
read -r VERIFIER3 CHALLENGE3 < <(pkce_pair)
NONCE3=$(random)
read -r status location < <(get "$(authorize_url "$CHALLENGE3" "$(random)" "$NONCE3")")
follow "$status" "$location"
callback=$CALLBACK
status=$(exchange "$(query_param "$callback" code)" "$VERIFIER3" "$work/token3.json" post)
echo "  POST $TOKEN (client_id + client_secret in the body) -> $status"
[[ $status == 200 ]] || fail "token endpoint said $status: $(cat "$work/token3.json")"
check_id_token "$work/token3.json" "$NONCE3" >/dev/null
SUB3=$(node -e 'const t = JSON.parse(require("fs").readFileSync(process.argv[1])).id_token; console.log(JSON.parse(Buffer.from(t.split(".")[1], "base64url")).sub)' "$work/token3.json")
[[ $SUB1 == "$SUB3" ]] || fail "sub is not stable"
echo "  ID token ok, same sub $SUB3"

step "RP-initiated logout (end_session) then a new authorization shows the login page again"
END_SESSION=$(json "$work/discovery.json" j.end_session_endpoint)
logout_url=$(node -e '
  const [endSession, idToken, postLogout] = process.argv.slice(1);
  const u = new URL(endSession);
  u.search = new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: postLogout, state: "bye" });
  console.log(u.href);' "$END_SESSION" "$(json "$work/token3.json" j.id_token)" http://127.0.0.1:3000/)
read -r status _ < <(get "$logout_url")
echo "  GET $END_SESSION?id_token_hint=…&post_logout_redirect_uri=http://127.0.0.1:3000/&state=bye -> $status"
[[ $status == 200 ]] || fail "logout page status $status"
grep -F '<h1>Sign out</h1>' "$work/body.html" >/dev/null || fail "no sign-out page"
confirm=$(grep -o '<form[^>]*action="[^"]*"' "$work/body.html" | sed 's/.*action="//; s/"$//')
xsrf=$(grep -o 'name="xsrf" value="[^"]*"' "$work/body.html" | sed 's/.*value="//; s/"$//')
[[ -n $confirm && -n $xsrf ]] || fail "no logout form"
read -r status location < <(curl -sS -o /dev/null -b "$jar" -c "$jar" -w '%{http_code} %{redirect_url}\n' \
  --data-urlencode "xsrf=$xsrf" --data-urlencode logout=yes "$confirm")
echo "  POST $confirm logout=yes -> $status $location"
[[ $status == 303 && $location == "http://127.0.0.1:3000/?state=bye" ]] || fail "no redirect to the post_logout_redirect_uri"
read -r _ CHALLENGE4 < <(pkce_pair)
read -r status location < <(get "$(authorize_url "$CHALLENGE4" "$(random)" "$(random)")")
read -r status _ < <(get "$location")
grep -F '<h1>Sign in</h1>' "$work/body.html" >/dev/null || fail "no login page after logout"
echo "  new authorization -> login page ($status)"

step "wrong client secret is refused"
status=$(curl -sS -o "$work/badsecret.json" -w '%{http_code}' -u "$CLIENT_ID:wrong" \
  -d grant_type=authorization_code -d code=x -d "redirect_uri=$REDIRECT_URI" -d code_verifier=x "$TOKEN")
echo "  -> $status $(cat "$work/badsecret.json")"
[[ $status == 401 && $(json "$work/badsecret.json" j.error) == invalid_client ]] || fail "bad secret was not refused"

step "SIGTERM stops the provider cleanly"
kill -TERM "$provider_pid"
rc=0
wait "$provider_pid" || rc=$?
provider_pid=
echo "  exit status $rc"
[[ $rc == 0 ]] || fail "provider exited with $rc"
[[ $(wc -l <"$work/provider.out") == 1 ]] || fail "provider printed more than one line on stdout"
if [[ -s $work/provider.err ]]; then
  echo "  provider stderr:"
  sed 's/^/    /' "$work/provider.err"
fi

printf '\noidc-provider check: all steps passed\n'
