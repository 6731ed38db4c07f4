# tools/state.sh — sourced by run.sh and run-apache.sh: the state directory (database, migrations,
# master key), the settings both read from the environment, and the first-run demo key.
# Needs: $ctl (alephantctl). Sets: ALEPHANT_HOME (exported, absolute), PORT, BIND, PROCESSES,
# MAX_BYTES, token (the demo key's token on the first run, else empty), admin_password (the
# one-time password of the admin account 'admin' when it was just created, else empty).

alephant_state_prepare() {
  ALEPHANT_HOME=${ALEPHANT_HOME:-$PWD/var}
  mkdir -p "$ALEPHANT_HOME"
  ALEPHANT_HOME=$(cd "$ALEPHANT_HOME" && pwd)
  export ALEPHANT_HOME
  chmod 700 "$ALEPHANT_HOME"
  mkdir -p "$ALEPHANT_HOME/run"

  PORT=${PORT:-8080}
  BIND=${ALEPHANT_BIND:-127.0.0.1}
  PROCESSES=${ALEPHANT_PROCESSES:-$(nproc 2>/dev/null || echo 2)}
  [ "$PROCESSES" -ge 1 ] 2>/dev/null || PROCESSES=1
  MAX_BYTES=${ALEPHANT_GATEWAY_MAX_REQUEST_BYTES:-10485760}

  first_run=no
  [ -f "$ALEPHANT_HOME/alephant.db" ] || first_run=yes
  "$ctl" init

  token=""
  if [ "$first_run" = yes ] && [ "${ALEPHANT_NO_DEMO:-}" != 1 ]; then
    "$ctl" provider-key add --name demo-mock --provider mock >/dev/null
    token=$("$ctl" vk create --name demo --provider-key demo-mock)
  fi

  # The admin program's first account, when there is none yet: a random password, shown once.
  admin_password=""
  if [ "$("$ctl" admin list --json | tr -d ' \n')" = "[]" ]; then
    admin_password=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
    printf '%s' "$admin_password" | "$ctl" admin add --user admin --password-stdin
  fi
}

# The ready-to-paste curl line, printed once: the demo token exists nowhere else. Likewise the
# admin account's one-time password.
alephant_first_run_message() {
  if [ -n "$admin_password" ]; then
    cat <<MSG

Admin: http://$BIND:$PORT/admin/ — created the account 'admin' with this one-time password
(shown only now; change it with: alephantctl admin passwd --user admin --password-stdin):

  $admin_password
MSG
  fi
  [ -n "$token" ] || return 0
  cat <<MSG

First run: created the demo provider key 'demo-mock' (the built-in mock provider: canned
answers, no internet) and the virtual key 'demo'. Its token is shown only now:

  curl http://$BIND:$PORT/v1/chat/completions \\
    -H "Authorization: Bearer $token" \\
    -H "Content-Type: application/json" \\
    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]}'

MSG
}
