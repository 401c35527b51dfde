#!/usr/bin/env bash
# One changed-block replication cycle of a libvirt domain to an mtagent agent (run by
# mtagent-send-libvirt@DOMAIN.timer every few minutes; see README "Changed-block tracking").
#
#   1. virsh backup-begin in pull mode: libvirt freezes a point-in-time view of every disk, exports it over NBD on a
#      Unix socket and, from the second cycle on, exports the dirty bitmap of the changes since the last checkpoint
#      whose send succeeded ("incremental"); in the same step it creates a new checkpoint that starts tracking.
#   2. mtagent send: the first cycle sends each disk's allocated data, later ones only the bitmap's extents; the
#      run ends with one recovery point per disk and one group point across them.
#   3. virsh domjobabort ends the backup job (a pull-mode job runs until the client ends it), always.
#   4. Rotation: only after send exited 0 does the new checkpoint become the base of the next cycle, and the old one
#      is deleted. After a failure the new checkpoint is deleted (libvirt merges its bitmap into its parent), so the
#      next cycle is incremental from the last successful checkpoint again and re-sends everything since then,
#      including whatever the failed run wrote.
#
# Usage: mtagent-send-libvirt.sh DOMAIN    (settings in /etc/mtagent/send-DOMAIN.conf, see send-libvirt.conf.example)
set -euo pipefail

domain=${1:?usage: $0 DOMAIN}
conf=${MTAGENT_SEND_CONF:-/etc/mtagent/send-$domain.conf}
# The settings file defines AGENT, FINGERPRINT, PASSPHRASE_FILE and DISKS; STATE_DIR, RUN_DIR, GROUP and MTAGENT
# have defaults below.
# shellcheck source=send-libvirt.conf.example
. "$conf"
: "${AGENT:?set AGENT (host:port of the agent data port) in $conf}"
: "${FINGERPRINT:?set FINGERPRINT (mtagent cert on the agent) in $conf}"
: "${PASSPHRASE_FILE:?set PASSPHRASE_FILE in $conf}"
: "${DISKS:?set DISKS (libvirt target=agent disk id pairs, e.g. \"vda=vm1-os vdb=vm1-data\") in $conf}"
state_dir=${STATE_DIR:-/var/lib/mtagent-send}
run_dir=${RUN_DIR:-/run/mtagent-send}
mtagent=${MTAGENT:-/opt/mtagent/bin/mtagent}
virsh=${VIRSH:-virsh}

mkdir -p "$state_dir" "$run_dir/$domain"
chmod 0700 "$state_dir" "$run_dir/$domain"
last_file=$state_dir/$domain.checkpoint
last=$(cat "$last_file" 2>/dev/null || true)
new=mtagent-$(date -u +%Y%m%dT%H%M%SZ)
socket=$run_dir/$domain/nbd.sock
backup_xml=$run_dir/$domain/backup.xml
checkpoint_xml=$run_dir/$domain/checkpoint.xml

{
  echo "<domainbackup mode='pull'>"
  [ -n "$last" ] && echo "  <incremental>$last</incremental>"
  echo "  <server transport='unix' socket='$socket'/>"
  echo "  <disks>"
  for pair in $DISKS; do
    target=${pair%%=*}
    echo "    <disk name='$target' backup='yes' type='file' exportname='$target' exportbitmap='mtagent-$target'>"
    echo "      <scratch file='$run_dir/$domain/$target.scratch'/>"
    echo "    </disk>"
  done
  echo "  </disks>"
  echo "</domainbackup>"
} >"$backup_xml"
{
  echo "<domaincheckpoint><name>$new</name><disks>"
  for pair in $DISKS; do
    echo "  <disk name='${pair%%=*}' checkpoint='bitmap'/>"
  done
  echo "</disks></domaincheckpoint>"
} >"$checkpoint_xml"

"$virsh" backup-begin "$domain" --backupxml "$backup_xml" --checkpointxml "$checkpoint_xml"
end_job() {
  "$virsh" domjobabort "$domain" >/dev/null 2>&1 || true
  rm -f "$run_dir/$domain"/*.scratch
}
trap end_job EXIT

args=(send --agent "$AGENT" --fingerprint "$FINGERPRINT" --passphrase-file "$PASSPHRASE_FILE" --name "$new")
[ "$(wc -w <<<"$DISKS")" -gt 1 ] || args+=(--group)
for pair in $DISKS; do
  target=${pair%%=*}
  args+=(--disk "${pair#*=}" --source "nbd+unix:///$target?socket=$socket")
  [ -n "$last" ] && args+=(--bitmap "mtagent-$target")
done
[ -n "${TAG:-}" ] && args+=(--tag "$TAG")

status=0
"$mtagent" "${args[@]}" || status=$?
end_job
trap - EXIT
if [ "$status" -eq 0 ]; then
  echo "$new" >"$last_file.tmp" && mv "$last_file.tmp" "$last_file"
  [ -z "$last" ] || "$virsh" checkpoint-delete "$domain" "$last"
  echo "mtagent-send-libvirt: $domain replicated; point and checkpoint $new"
else
  "$virsh" checkpoint-delete "$domain" "$new" || true
  echo "mtagent-send-libvirt: $domain: send exited $status; checkpoint ${last:-<none>} stays the base of the next cycle" >&2
fi
exit "$status"
