"""Placeholder replaced below."""
def add_simulate_parser(sub):
    pass
