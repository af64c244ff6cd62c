"""The realtime engine: threads/processes, latest-wins hand-off, latency traces,
health, shutdown, LSL outputs and session folders. Floor 3.

Not built yet (issue 8).
"""
