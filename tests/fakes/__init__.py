"""Fakes at the network edge, speaking the real wire format."""
