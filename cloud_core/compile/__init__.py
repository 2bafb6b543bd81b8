"""The index compiler: one store's campaigns, catalog and delivery inputs in, its StoreIndex out.

Pure (plain values and an injected ``now``): ``templates`` derives once what every store's index
repeats, ``compiler`` splices one store's index from those and its own fields; ``store_inputs``
gathers what a compile needs from the storage Protocols.
"""
