"""Reconciling clusters with the configuration.

`plan` and `ownership` are pure: desired objects against what is there now, and whose objects a
run may prune. `executor` carries a plan out through the fleet's clients (observe -> desired ->
plan -> act); it never prints.
"""
