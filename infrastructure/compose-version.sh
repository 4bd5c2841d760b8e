# shellcheck shell=bash
# Sourced (not run) by ./infrastructure/start-all.sh and ./infrastructure/stop-all.sh: the Compose
# plugin this project's files need, in one place.

# SCRIPT-NAME: exits 1 with a hint when the Compose plugin is missing or older than 2.23 (the
# first release that accepts the network every included file declares); die() is the caller's.
require_compose() {
  local compose_version major minor
  compose_version=$(docker compose version --short 2>/dev/null) ||
    die "the Docker Compose plugin is missing ('docker compose version' failed). Install it (package docker-compose-plugin, 2.23 or later)"
  IFS=. read -r major minor _ <<<"${compose_version#v}"
  if [ "${major:-0}" -lt 2 ] || { [ "$major" -eq 2 ] && [ "${minor:-0}" -lt 23 ]; }; then
    die "Docker Compose $compose_version is too old: the compose files need 2.23 or later (include: with the network every included file declares)"
  fi
}
