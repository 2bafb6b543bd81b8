"""``cartads-bench soak``: an edge under a busy store's compressed day, for tens of minutes, as its own
process beside a real cloud: does it grow, does its event loop stall, do carts miss their deadline?"""
