"""The :class:`History` of a training run: what :func:`~cl_lessons.training.fit` measured."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class History:
    """What :func:`fit` measured, epoch by epoch (epochs are numbered from 1).

    Attributes:
        loss: mean training loss of each completed epoch.
        epoch_time: wall-clock seconds of the training steps of each completed epoch.
        eval_time: wall-clock seconds of each evaluation (one per entry of ``metrics``).
        batch_loss: the loss of every optimisation step, including a partial last epoch.
        metrics: one dict per evaluation, ``{"epoch": e, **eval_fn(model)}``.
        interrupted: training was stopped by ``KeyboardInterrupt`` (the kernel's stop button).
        stopped_early: a callback returned ``True`` to stop.
        device: the device trained on, as a string.
        notes: remarks of the loop (for example "amp ignored on cpu").
    """

    loss: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)
    eval_time: list[float] = field(default_factory=list)
    batch_loss: list[float] = field(default_factory=list)
    metrics: list[dict[str, float]] = field(default_factory=list)
    interrupted: bool = False
    stopped_early: bool = False
    device: str = "cpu"
    notes: list[str] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        """Number of completed epochs."""
        return len(self.loss)

    @property
    def train_seconds(self) -> float:
        """Total wall-clock seconds of training steps (evaluations excluded)."""
        return float(sum(self.epoch_time))

    @property
    def last_metrics(self) -> dict[str, float]:
        """The most recent evaluation (empty dict if none)."""
        return dict(self.metrics[-1]) if self.metrics else {}

    def metric(self, name: str) -> tuple[list[int], list[float]]:
        """The epochs at which ``name`` was evaluated and its values.

        Raises:
            KeyError: ``name`` was never reported by ``eval_fn``.
        """
        rows = [m for m in self.metrics if name in m]
        if not rows:
            known = sorted({k for m in self.metrics for k in m} - {"epoch"})
            raise KeyError(f"no metric {name!r} in this history; known: {known}")
        return [int(m["epoch"]) for m in rows], [float(m[name]) for m in rows]

    def as_dict(self) -> dict[str, Any]:
        """Plain Python containers only (JSON- and ``save_checkpoint``-friendly)."""
        return {
            "loss": list(self.loss),
            "epoch_time": list(self.epoch_time),
            "eval_time": list(self.eval_time),
            "batch_loss": list(self.batch_loss),
            "metrics": [dict(m) for m in self.metrics],
            "interrupted": self.interrupted,
            "stopped_early": self.stopped_early,
            "device": self.device,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        """Inverse of :meth:`as_dict`."""
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})

    def plot(self, ax=None, title: str | None = None):
        """Loss per epoch and, if any, the evaluation metrics on a second y axis.

        Args:
            ax: a matplotlib Axes to draw into; ``None`` makes a new figure.
            title: optional title.

        Returns:
            The matplotlib ``Figure``.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            fig, ax = plt.subplots(figsize=(6, 3.5))
        else:
            fig = ax.figure
        epochs = list(range(1, self.epochs + 1))
        ax.plot(epochs, self.loss, "o-", color="C0", label="training loss")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        handles, labels = ax.get_legend_handles_labels()
        names = sorted({k for m in self.metrics for k in m} - {"epoch"})
        if names:
            ax2 = ax.twinx()
            for c, name in enumerate(names, start=1):
                xs, ys = self.metric(name)
                ax2.plot(xs, ys, "s--", color=f"C{c}", label=name)
            ax2.set_ylabel("metric")
            h2, l2 = ax2.get_legend_handles_labels()
            handles, labels = handles + h2, labels + l2
        ax.legend(handles, labels, loc="best", fontsize="small")
        suffix = " (interrupted)" if self.interrupted else ""
        ax.set_title((title or "training") + suffix)
        fig.tight_layout()
        return fig
