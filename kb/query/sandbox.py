"""The second wall behind kb.guard: a process that cannot open a network connection at all.

A seccomp filter (libseccomp, through pyseccomp) makes `socket()` fail with EACCES for every
address family but AF_UNIX (which multiprocessing's pipes and queues use) and refuses
`io_uring_setup` (io_uring can open sockets without calling `socket()`). System calls of a
foreign architecture (i386 or x32 on x86-64) kill the process, libseccomp's default. The
filter is synchronised to every thread of the process and inherited by its children; it
cannot be lifted. Query workers (kb serve) and the child that runs `kb query` install it
before they read a query, so a SERVICE that slipped past the guard still reaches nobody.

`cap_memory` bounds what a query may allocate beyond what the process holds already (the KB
it loaded), so a runaway query cannot take the machine's memory.

Fail closed: where the filter cannot be installed, `deny_network` raises, and the process
that needed it refuses to run queries.
"""

from __future__ import annotations

import errno
import resource
import socket


class SandboxError(Exception):
    """The network could not be closed off for this process."""


def deny_network() -> None:
    """Make every later inet/inet6/netlink/packet socket() call in this process fail."""
    try:
        import pyseccomp as sc

        flt = sc.SyscallFilter(defaction=sc.ALLOW)
        flt.set_attr(sc.Attr.CTL_TSYNC, 1)
        flt.add_rule(sc.ERRNO(errno.EACCES), "socket", sc.Arg(0, sc.NE, socket.AF_UNIX))
        flt.add_rule(sc.ERRNO(errno.EPERM), "io_uring_setup")
        flt.load()
    except Exception as exc:  # noqa: BLE001 - any failure means no wall: refuse to go on
        raise SandboxError(f"cannot close off the network for the query process ({exc}); "
                           "seccomp (libseccomp2, Linux) is needed") from None
    if network_allowed():
        raise SandboxError("the seccomp filter was loaded but inet sockets still open")


def network_allowed() -> bool:
    """Whether this process can still create an inet socket (it is closed at once)."""
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        return False
    s.close()
    return True


def cap_memory(extra: int) -> None:
    """Let the address space grow by at most `extra` bytes from here."""
    with open("/proc/self/status", encoding="ascii") as status:
        size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize"))
    limit = size + extra
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
