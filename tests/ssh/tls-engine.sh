#!/usr/bin/env bash
# A second Docker engine on this machine, reached over TCP with TLS only, for the test of the
# standard environment (DOCKER_HOST=tcp://, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH). It leaves the
# shared engine alone: its own data root, exec root, pid file, containerd namespace, no bridge,
# no iptables. `tls-engine.sh start DIR PORT` (root) makes a CA, server and client certificates
# (DIR/client holds ca.pem, cert.pem, key.pem as DOCKER_CERT_PATH wants them, DIR/wrong-ca a
# CA that signed nothing), starts dockerd and loads a tiny image (zdt-tls/sleep:1, /usr/bin/sleep
# and its libc); `tls-engine.sh stop DIR` stops it and removes its data.
set -euo pipefail

action=${1:?start DIR PORT | stop DIR}
dir=${2:?state directory}
sock=/run/zdt-tls-docker.sock
exec_root=/run/zdt-tls-exec

stop() {
  if [ -s "$dir/dockerd.pid" ]; then
    pid=$(cat "$dir/dockerd.pid")
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      echo "[tls-engine] stopped dockerd $pid"
    fi
  fi
  rm -rf "$dir/data" "$exec_root" "$dir/dockerd.pid"
}

if [ "$action" = stop ]; then stop; exit 0; fi
port=${3:?port}
stop
mkdir -p "$dir/client" "$dir/server" "$dir/wrong-ca"

ca() {  # directory: a self-signed CA (ca.pem, ca-key.pem)
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=zdt test CA $(basename "$1")" \
    -keyout "$1/ca-key.pem" -out "$1/ca.pem" 2>/dev/null
}
sign() {  # ca dir, out prefix, subject, extensions
  openssl req -newkey rsa:2048 -nodes -subj "$3" -keyout "$2-key.pem" -out "$2.csr" 2>/dev/null
  printf '%s\n' "$4" >"$2.ext"
  openssl x509 -req -in "$2.csr" -CA "$1/ca.pem" -CAkey "$1/ca-key.pem" -CAcreateserial -days 2 \
    -extfile "$2.ext" -out "$2-cert.pem" 2>/dev/null
}
ca "$dir/server"
ca "$dir/wrong-ca"
sign "$dir/server" "$dir/server/server" /CN=127.0.0.1 \
  "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth"
sign "$dir/server" "$dir/client/client" /CN=zdt-client "extendedKeyUsage=clientAuth"
cp "$dir/server/ca.pem" "$dir/client/ca.pem"
mv "$dir/client/client-cert.pem" "$dir/client/cert.pem"
mv "$dir/client/client-key.pem" "$dir/client/key.pem"
chmod 600 "$dir"/*/*key.pem

dockerd --data-root "$dir/data" --exec-root "$exec_root" --pidfile "$dir/dockerd.pid" \
  --containerd-namespace zdt-tls --containerd-plugins-namespace zdt-tls-plugins \
  -H "unix://$sock" -H "tcp://127.0.0.1:$port" --tlsverify --tlscacert "$dir/server/ca.pem" \
  --tlscert "$dir/server/server-cert.pem" --tlskey "$dir/server/server-key.pem" \
  --bridge=none --iptables=false --ip-masq=false --ip-forward=false >"$dir/dockerd.log" 2>&1 &
for _ in $(seq 150); do docker -H "unix://$sock" info >/dev/null 2>&1 && break; sleep 0.2; done
docker -H "unix://$sock" info >/dev/null

# the image: /usr/bin/sleep and the libraries it links
mapfile -t libs < <(ldd /usr/bin/sleep | grep -o '/[^ ]*')
tar -ch --absolute-names -f - /usr/bin/sleep "${libs[@]}" 2>/dev/null \
  | docker -H "unix://$sock" import -c 'CMD ["/usr/bin/sleep", "600"]' - zdt-tls/sleep:1 >/dev/null
echo "[tls-engine] dockerd $(cat "$dir/dockerd.pid") on tcp://127.0.0.1:$port (TLS, client certificates)"
