"""``cartads-admin``: operate the cloud's AdminService from a shell.

A gRPC client only: it imports the contract and ``cartads.rpc``, never the cloud's server rooms.
"""
