#!/bin/bash
# Installs the Debian 12 packages a freezebench task needs, only those missing, so it is
# cheap to run again.  Groups: build (always), python, data, cross, fuzz, valgrind.
#   usage: scripts/deps.sh [python] [data] [cross] [fuzz] [valgrind]
set -euo pipefail

pkgs=(build-essential meson ninja-build pkg-config libhwloc-dev hwloc libcmocka-dev
      libbenchmark-dev libopenblas-dev libblis-dev libdnnl-dev zlib1g-dev
      libopenmpi-dev openmpi-bin
      libcpuinfo-dev)   # only for test_cpuinfo_crosscheck: our CPU reading against PyTorch's library
arm64=false
for group in "$@"; do
    case "$group" in
    python)   pkgs+=(python3 python3-numpy python3-scipy python3-torch python3-matplotlib) ;;
    # Fashion-MNIST as gzip'd IDX files in /usr/share/datasets/fashion-mnist: the
    # fine-tuning data (src/io/class_data.h), and test_class_data's real-data check.
    data)     pkgs+=(dataset-fashion-mnist) ;;
    cross)    pkgs+=(gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user
                     libcmocka-dev:arm64 libhwloc-dev:arm64 libbenchmark-dev:arm64
                     zlib1g-dev:arm64)
              arm64=true ;;
    fuzz)     pkgs+=(clang libclang-rt-14-dev) ;;
    valgrind) pkgs+=(valgrind) ;;
    *) echo "deps.sh: unknown group '$group' (python, data, cross, fuzz, valgrind)" >&2; exit 2 ;;
    esac
done

sudo=""
if [ "$(id -u)" != 0 ]; then sudo=sudo; fi

if $arm64 && ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $sudo dpkg --add-architecture arm64
    need_update=true
fi

# Whether a package is installed for this machine: a name without ":arch" means the
# native architecture's (or an arch-all) package.  With arm64 added, dpkg-query prints one
# line per architecture, so comparing its whole output with "installed" took every
# multi-arch package for missing and ran apt-get each time.
native=$(dpkg --print-architecture)
installed() {
    case "$1" in
    *:*) dpkg-query -W -f='${db:Status-Status}\n' "$1" 2>/dev/null | grep -qx installed ;;
    *)   dpkg-query -W -f='${Architecture} ${db:Status-Status}\n' "$1" 2>/dev/null |
             grep -Eqx "($native|all) installed" ;;
    esac
}

missing=()
for p in "${pkgs[@]}"; do
    installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ] || [ "${need_update:-false}" = true ]; then
    echo "deps.sh: installing ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
