"""TUN devices and network namespaces, with the ``ip`` command (root only)."""

from __future__ import annotations

import fcntl
import os
import shutil
import struct
import subprocess

# linux/if_tun.h
_TUNSETIFF = 0x400454CA
_IFF_TUN = 0x0001
_IFF_NO_PI = 0x1000


class NetfaultUnavailableError(Exception):
    """This machine cannot build the link (not root, no /dev/net/tun, no ``ip``, namespaces refused)."""


def ip(*args: str) -> None:
    """Run ``ip ARGS``; NetfaultUnavailableError with ip's words when it fails."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise NetfaultUnavailableError(f"ip {' '.join(args)}: {done.stderr.strip() or done.returncode}")


def why_unavailable() -> str | None:
    """Why a link cannot be built here, or None when the prerequisites are present (namespaces may
    still be refused, e.g. in an unprivileged container: ``FaultyLink`` then raises)."""
    if os.geteuid() != 0:
        return "network namespaces and TUN devices need root"
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun does not exist"
    return None


def open_tun(name: str) -> int:
    """Create TUN device ``name`` (raw IP packets, no extra header) in this namespace; its fd,
    non-blocking. The device lives as long as the fd is open."""
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    try:
        fcntl.ioctl(fd, _TUNSETIFF, struct.pack("16sH", name.encode(), _IFF_TUN | _IFF_NO_PI))
    except OSError as exc:
        os.close(fd)
        raise NetfaultUnavailableError(f"cannot create TUN device {name}: {exc}") from exc
    return fd


def address_in_use(prefix: str) -> bool:
    """Whether any interface of this namespace has an address starting with ``prefix``."""
    done = subprocess.run(["ip", "-o", "-4", "addr"], capture_output=True, text=True, check=False)
    return f" {prefix}" in done.stdout
