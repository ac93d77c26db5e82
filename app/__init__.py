"""dpa: a registry of entrusted processors of personal information under China's PIPL."""
