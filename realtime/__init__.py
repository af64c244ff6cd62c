"""The realtime engine: threads/processes, latest-wins hand-off, latency traces,
health, shutdown, LSL outputs and session folders. Floor 3.

- :mod:`realtime.engine`: :class:`~realtime.engine.Engine` (the live pipeline of one
  run) and :class:`~realtime.engine.RunSummary`;
- :mod:`realtime.mailbox`: the one-slot latest-wins :class:`~realtime.mailbox.LatestMailbox`;
- :mod:`realtime.stages`: the slow stages (describer, 3D) in threads or child processes,
  with error counting and bounded restarts;
- :mod:`realtime.session`: the session folder writer;
- :mod:`realtime.lsl_outputs`: the latent and event LSL streams;
- :mod:`realtime.scoring`: live identification accuracy against the simulator's stimuli;
- :mod:`realtime.sinks`: the :class:`~realtime.sinks.Sink` protocol and
  :class:`~realtime.sinks.EngineStatus`.
"""
