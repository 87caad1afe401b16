#!/usr/bin/env bash
# The managed Docker host of the SSH layer, on this machine: an sshd on 127.0.0.1 and the accounts
# users deploy with. `host.sh start DIR PORT` (as root) installs what is missing (Debian's
# openssh-server, sudo, python3-docker, python3-requests), creates the accounts, a key pair in DIR
# and a Python without the docker SDK, and starts sshd; `host.sh stop DIR` stops that sshd.
# The accounts and /opt/zdt-nosdk-python stay (harmless, and the next run is faster).
#   zdt-deploy    in group docker, may sudo without a password (become for the sysctl)
#   zdt-nodocker  not in group docker (the socket refuses it)
#   zdt-nosudo    in group docker, no sudo at all
set -euo pipefail

action=${1:?start DIR PORT | stop DIR}
dir=${2:?state directory}
nosdk=/opt/zdt-nosdk-python   # a Python (venv of /usr/bin/python3) without the docker SDK

stop() {
  if [ -s "$dir/sshd.pid" ]; then
    pid=$(cat "$dir/sshd.pid")
    if kill "$pid" 2>/dev/null; then echo "[ssh-host] stopped sshd $pid"; fi
    rm -f "$dir/sshd.pid"
  fi
}

if [ "$action" = stop ]; then stop; exit 0; fi
port=${3:?port}
if [ "$(id -u)" != 0 ]; then
  echo "[ssh-host] needs root (packages, accounts, sshd); run as root" >&2
  exit 1
fi

missing=()
for pkg in openssh-server sudo python3-docker python3-requests; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[ssh-host] installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # no init system here: the packages' scripts must not try to start services
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
getent group docker >/dev/null || groupadd --system docker

mkdir -p "$dir" && chmod 700 "$dir"
[ -f "$dir/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C zdt-ssh-layer -f "$dir/id_ed25519"
[ -f "$dir/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C zdt-ssh-host -f "$dir/host_ed25519"

account() {  # name, extra groups
  local name=$1 groups=$2
  id "$name" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$name"
  usermod -G "$groups" "$name"
  install -d -m 700 -o "$name" -g "$name" "/home/$name/.ssh"
  install -m 600 -o "$name" -g "$name" "$dir/id_ed25519.pub" "/home/$name/.ssh/authorized_keys"
}
account zdt-deploy docker
account zdt-nodocker ''
account zdt-nosudo docker
echo 'zdt-deploy ALL=(root) NOPASSWD: ALL' >/etc/sudoers.d/zdt-deploy
chmod 440 /etc/sudoers.d/zdt-deploy
rm -f /etc/sudoers.d/zdt-nosudo /etc/sudoers.d/zdt-nodocker

[ -x "$nosdk/bin/python3" ] || /usr/bin/python3 -m venv --without-pip "$nosdk"

stop
mkdir -p /run/sshd
cat >"$dir/sshd_config" <<CFG
Port $port
ListenAddress 127.0.0.1
HostKey $dir/host_ed25519
PidFile $dir/sshd.pid
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AllowUsers zdt-deploy zdt-nodocker zdt-nosudo
UsePAM yes
Subsystem sftp /usr/lib/openssh/sftp-server
MaxStartups 100
MaxSessions 100
CFG
/usr/sbin/sshd -t -f "$dir/sshd_config"
/usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log"
for _ in $(seq 50); do
  ssh -q -i "$dir/id_ed25519" -p "$port" -o BatchMode=yes -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null zdt-deploy@127.0.0.1 true && break
  sleep 0.1
done
echo "[ssh-host] sshd $(cat "$dir/sshd.pid") on 127.0.0.1:$port;" \
  "python3-docker $(dpkg-query -W -f='${Version}' python3-docker)," \
  "python3-requests $(dpkg-query -W -f='${Version}' python3-requests)"
