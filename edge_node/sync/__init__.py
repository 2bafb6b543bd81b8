"""Index sync: the StreamIndex client (``client``) around a sans-IO assembler of updates
(``update_assembler``), and what it reports (``state``, ``metrics``).
"""
