"""A faulty network link in user space, for fault tests and ``cartads-bench partition``.

This machine's kernel (and many CI kernels) has no ``netem``, so the link is built from two TUN
devices: one in a network namespace of its own (where the cloud runs), one in the caller's, and a
forwarder thread between them that loses, delays (with jitter), black-holes or flaps packets,
each direction by its own ``LinkPolicy``. ``policy`` is the pure decision per packet; ``tun``
makes devices and namespaces (root only); ``link`` is the running link.
"""
