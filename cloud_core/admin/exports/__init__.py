"""AdminService's long-running and forward-looking reads, a sub-room of ``admin``: report exports
(``jobs``: CreateReportExport, GetReportExport, DownloadReportExport and the background runner that
writes each export's CSV into the database) and the availability forecast (``forecast``).

Thin shells like the rest of ``admin``: the pure parts live in ``reports.export`` and
``delivery.forecast``. Imports ``access``, ``admin`` (request checks, the report rows), ``reports``,
``delivery`` and ``storage.protocol``.
"""
