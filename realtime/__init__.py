"""The realtime engine: threads/processes, latest-wins hand-off, latency traces,
health, shutdown, LSL outputs and session folders. Floor 3.

- :mod:`realtime.engine`: :class:`~realtime.engine.Engine` (the live pipeline of one
  run: wiring, session, teardown), on :mod:`realtime.lifecycle` (start / stop once);
- :mod:`realtime.fast_path`: prepare_windows + onnxruntime per window, and the thread
  that publishes each result;
- :mod:`realtime.slow_stages`: the describer and 3D workers behind their mailboxes;
- :mod:`realtime.health`: the event log and the stream / lag / stage checks;
- :mod:`realtime.tracing`: latencies per stage, ``traces.jsonl``, :class:`~realtime.tracing.RunSummary`;
- :mod:`realtime.mailbox`: the one-slot latest-wins :class:`~realtime.mailbox.LatestMailbox`;
- :mod:`realtime.stages`: the slow stages (describer, 3D) in threads or child processes,
  with error counting and bounded restarts;
- :mod:`realtime.session`: the session folder writer;
- :mod:`realtime.lsl_outputs`: the latent and event LSL streams;
- :mod:`realtime.scoring`: live identification accuracy against the simulator's stimuli;
- :mod:`realtime.sinks`: the :class:`~realtime.sinks.Sink` protocol,
  :class:`~realtime.sinks.SinkSet` and :class:`~realtime.sinks.EngineStatus`.
"""
