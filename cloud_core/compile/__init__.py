"""The index compiler: one store's campaigns, catalog and delivery inputs in, its StoreIndex out.

Pure (plain values and an injected ``now``); ``store_inputs`` gathers what a compile needs from
the storage Protocols.
"""
