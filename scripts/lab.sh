#!/usr/bin/env bash
# The local lab: `make lab` (up) and `make lab-down` (down), see README "Try it".
#
#   up    prepare this machine (scripts/setup.sh), start the lab's containers (lab/up.yml),
#         deploy the whole stack into them over SSH with playbooks/site.yml, print the URL
#   down  remove the containers, the network and the lab's key, known_hosts and CA
#   status  list the lab's containers
#
# FLASKY_LAB_PREFIX (flasky-lab) and FLASKY_LAB_PORT_OFFSET (0) run a second lab side by side;
# extra arguments go to ansible-playbook (e.g. `scripts/lab.sh up -e deploy_db_engine=mysql`).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
export PATH="$here/.venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$here/.collections"
inventory=inventories/lab
prefix=${FLASKY_LAB_PREFIX:-flasky-lab}
offset=${FLASKY_LAB_PORT_OFFSET:-0}
state="$HOME/.local/share/flasky-deploy/$prefix"

cmd=${1:-up}
shift || true
case "$cmd" in
  up)
    start=$(date +%s)
    bash scripts/setup.sh
    ansible-playbook -i "$inventory" lab/up.yml "$@"
    ansible-playbook -i "$inventory" playbooks/site.yml "$@"
    url="https://localhost:$((8443 + offset))/"
    curl -fsS --cacert "$state/ca/ca.crt" -o /dev/null "$url" \
      || { echo "lab: the stack was deployed but $url does not answer" >&2; exit 1; }
    cat <<MSG

The lab is up in $(( $(date +%s) - start )) s: $url
  Trust this CA to open it without a warning: $state/ca/ca.crt
    curl --cacert $state/ca/ca.crt $url
  SSH:   ssh -i $state/id_ed25519 -p $((2201 + offset)) deploy@127.0.0.1   (web; app1 +1, app2 +2, db +3, log +4)
  Mail the stack sends: docker exec $prefix-mail ls /home/inbox/Maildir/new
  Redeploy: ansible-playbook -i $inventory playbooks/site.yml     Remove: make lab-down
MSG
    ;;
  down)
    ansible-playbook -i "$inventory" lab/down.yml "$@"
    ;;
  status)
    docker ps -a --filter "label=flasky.lab=$prefix" --format 'table {{.Names}}\t{{.Status}}\t{{.Ports}}'
    ;;
  *)
    echo "usage: $0 up|down|status [ansible-playbook options]" >&2
    exit 2
    ;;
esac
