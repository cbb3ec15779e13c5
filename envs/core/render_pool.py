"""Pixel observations rendered on several threads, each with its own OpenGL context.

MuJoCo releases the GIL while it draws, and software GL draws small images mostly on the thread that asks, so two
renderers on two threads deliver more frames than one (84x84, 16 simulations, another job running: 411 -> 535
frames/s, ``python experiments/render_profile.py``). An EGL context is current on one thread only: each worker
creates its renderer, uses it and closes it on its own thread. Frames do not depend on which worker draws them.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

from embodia.envs.core.rendering import SimRenderer

#: a job: what to draw for one simulation, given the worker's renderer
Job = Callable[[SimRenderer, int], Any]


class _Worker(threading.Thread):
    def __init__(self, make_renderer: Callable[[], SimRenderer]) -> None:
        super().__init__(daemon=True, name="embodia-render")
        self.make_renderer = make_renderer
        self.inbox: queue.Queue = queue.Queue()
        self.ready = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            renderer = self.make_renderer()
        except BaseException as error:  # reported to the caller of the first job
            self.error = error
            self.ready.set()
            return
        self.ready.set()
        try:
            while (item := self.inbox.get()) is not None:
                job, sim_ids, results, done = item
                try:
                    results.extend(job(renderer, sim_id) for sim_id in sim_ids)
                except BaseException as error:
                    results.append(error)
                done.set()
        finally:
            renderer.close()


class RenderPool:
    """``workers`` threads, each with a renderer from ``make_renderer``; ``map`` draws simulations on all of them."""

    def __init__(self, make_renderer: Callable[[], SimRenderer], workers: int) -> None:
        self.workers = [_Worker(make_renderer) for _ in range(max(1, int(workers)))]
        for worker in self.workers:
            worker.start()
        for worker in self.workers:
            worker.ready.wait()
            if worker.error is not None:
                self.close()
                raise worker.error

    def map(self, job: Job, sim_ids: Sequence[int]) -> list[Any]:
        """``[job(renderer, i) for i in sim_ids]``, in order, the simulations split among the workers."""
        count = len(self.workers)
        chunks = [list(sim_ids[k::count]) for k in range(count)]
        pending = []
        for worker, chunk in zip(self.workers, chunks, strict=True):
            if chunk:
                results: list[Any] = []
                done = threading.Event()
                worker.inbox.put((job, chunk, results, done))
                pending.append((chunk, results, done))
        ordered: dict[int, Any] = {}
        for chunk, results, done in pending:
            done.wait()
            failed = [r for r in results if isinstance(r, BaseException)]
            if failed:
                raise failed[0]
            ordered.update(zip(chunk, results, strict=True))
        return [ordered[i] for i in sim_ids]

    def close(self) -> None:
        for worker in self.workers:
            if worker.is_alive():
                worker.inbox.put(None)
        for worker in self.workers:
            worker.join()
