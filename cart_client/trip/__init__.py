"""The pure core of one cart trip: readings, ad answers and screen feedback in, actions out.

Imports no I/O module and no other room but ``sensors.trace`` (the readings' types).
"""
