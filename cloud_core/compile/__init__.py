"""The index compiler: one store's campaigns, catalog, enrolled carts and delivery inputs in, its
StoreIndex out.

Pure (plain values and an injected ``now``): ``templates`` derives once what every store's index
repeats, ``compiler`` splices one store's index from those and its own fields (``carts``: its
enrolled carts' credential digests); ``store_inputs`` gathers what a compile needs from the storage
Protocols; ``change_scope`` names the stores whose index a line item change can alter.
"""
