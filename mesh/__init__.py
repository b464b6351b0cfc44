"""Switchboard's shared runtime: settings, codec, envelope, errors, topics, state and the agent runtime."""
