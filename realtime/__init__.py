"""The realtime engine: threads/processes, latest-wins hand-off, latency traces,
health, shutdown, LSL outputs and session folders. Floor 3.

Built so far: :mod:`realtime.live_decode` (acquisition thread -> ONNX fast path, with
LSL-clock latency and live scoring). Slow stages, mailboxes, session folders and LSL
outputs come with issue 8.
"""
