"""AdminService's delivery status (GetDeliveryStatus): a thin shell that gathers, per store, the
pacing plan and budget lease a compile would give now and the edges' request counts of the last
hour, and hands them to the pure core (``cloud_core.delivery.status``). Imports ``access``,
``admin``'s request checks, ``delivery`` and ``storage.protocol``; the index preview and the reads
it needs are small Protocols here, wired by ``cloud_core.app``.
"""
