#!/bin/sh
# Grafana's entrypoint in docker-compose.yml: refuse to start with the admin password copied from
# deploy/secrets.example (or an empty or short one), then hand over to the image's own start script.
# The password is never printed. Tested by tests/deploy/test_compose.py with the real files.
set -eu

password_file="${GF_SECURITY_ADMIN_PASSWORD__FILE:-}"
example_file="${CAPMON_EXAMPLE_PASSWORD_FILE:-/etc/capmon/example_grafana_admin_password}"

refuse() {
  echo "grafana: refusing to start: $1; put a long random password in secrets/grafana_admin_password" \
       "(e.g. openssl rand -base64 24) and start again" >&2
  exit 78
}

[ -n "$password_file" ] || refuse "GF_SECURITY_ADMIN_PASSWORD__FILE is not set"
[ -r "$password_file" ] || refuse "cannot read $password_file"
[ -r "$example_file" ] || refuse "cannot read $example_file to compare with"
password="$(cat "$password_file")"
[ "$password" != "$(cat "$example_file")" ] || refuse "the admin password is still the example's"
[ "${#password}" -ge 12 ] || refuse "the admin password is shorter than 12 characters"
unset password

exec "${GRAFANA_START:-/run.sh}" "$@"
