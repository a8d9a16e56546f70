#!/usr/bin/env bash
# Sets up Podman for the container executor (sandbox/podman.py) and its tests: Debian's podman
# with runc (crun fails on hosts with hybrid cgroups, v1 controllers plus a v2 mount), catatonit,
# and the user-namespace tools rootless Podman needs; then a containers.conf drop-in that works
# on such hosts: runc, the cgroupfs manager (no systemd here), events to a file, and ulimits a
# root without CAP_SYS_RESOURCE can grant (Podman's default raises the hard nofile and nproc
# limits, which fails there: "error setting rlimit type 7: operation not permitted").
#   scripts/setup-podman.sh
# The executor passes the same settings on its command lines; the drop-in is for `podman kube
# play` of `tether executor manifest` and for Podman used by hand. It is written once, as root,
# to /etc/containers/containers.conf.d/50-tether.conf (rootless Podman reads it too), and left
# alone when it exists. Needs root or sudo only for what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/apt-install.sh podman runc catatonit uidmap slirp4netns

conf_dir=/etc/containers/containers.conf.d
conf=$conf_dir/50-tether.conf
[ -f "$conf" ] && exit 0
as_root=()
[ "$(id -u)" -ne 0 ] && as_root=(sudo)
"${as_root[@]}" mkdir -p "$conf_dir"
"${as_root[@]}" tee "$conf" >/dev/null <<'CONF'
# Written by Tether's scripts/setup-podman.sh: what works on hosts with hybrid cgroups.
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
echo "setup(podman): wrote $conf"
