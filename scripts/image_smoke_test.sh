#!/bin/sh
# Build Plein's container image with podman and run it the way the image says it runs — non-root (uid 10001),
# read-only root file system, only /data writable — on a machine where podman can build but not run
# containers (no cgroups / rlimits for the OCI runtime): the build uses chroot isolation from a Debian 12
# made by debootstrap, and the image's file system is then run under chroot in a private mount namespace.
# Where `docker run` works, use the commands at the top of the Dockerfile instead.
#   sh scripts/image_smoke_test.sh            (as root; needs podman, debootstrap, curl)
set -eu
work=$(mktemp -d)
port=18080
trap 'pkill -u 10001 -f "plein serve" || true; podman image umount localhost/plein:smoke >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

if ! podman image exists localhost/debian:bookworm-local; then
  debootstrap --variant=minbase bookworm "$work/debian" http://deb.debian.org/debian >/dev/null
  tar -C "$work/debian" -c . | podman import - localhost/debian:bookworm-local >/dev/null
fi
# The build's downloads trust this machine's CA bundle (it may sit behind a TLS-inspecting proxy).
podman build --isolation=chroot --cgroup-manager=cgroupfs \
  --secret id=build_ca,src=/etc/ssl/certs/ca-certificates.crt \
  --build-arg BASE=localhost/debian:bookworm-local -t localhost/plein:smoke "$(dirname "$0")/.."

root=$(podman image mount localhost/plein:smoke)
mkdir -p "$work/data" "$work/etc"
chown 10001:10001 "$work/data"
cat > "$work/etc/plein.toml" <<TOML
[instance]
domain = "127.0.0.1:$port"
base_url = "http://127.0.0.1:$port"
[secrets]
secret_key = "image-smoke-test"
TOML
unshare --mount --propagation private sh -c "
  mount --bind '$work/data' '$root/data'
  mount --bind '$work/etc' '$root/etc/plein'
  mount -o remount,bind,ro '$root'
  exec chroot --userspec=10001:10001 '$root' /usr/bin/env -i PATH=/opt/plein/bin:/usr/bin:/bin \
    PYTHONDONTWRITEBYTECODE=1 PLEIN_CONFIG=/etc/plein/plein.toml PLEIN_SERVER__DATA_DIR=/data \
    PLEIN_SERVER__LISTEN_HOST=127.0.0.1 PLEIN_SERVER__LISTEN_PORT=$port HOME=/data \
    sh -c 'plein migrate && plein serve'
" > "$work/serve.log" 2>&1 &
for _ in $(seq 1 60); do
  if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$port/readyz" && echo
curl -fsS "http://127.0.0.1:$port/api/v1/instance" | head -c 120 && echo
echo "data written by the image (owner uid 10001):"
ls -ln "$work/data"
echo "image smoke test passed"
