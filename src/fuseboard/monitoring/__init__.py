"""Profiles, drift, performance, probes, alerts and the scheduler.

Statistics here are pure functions over data or profiles: no database, no UI.
numpy and pandas are imported inside the functions that need them.
"""
