"""Two-input networks: fused dual streams and two-tower retrieval models."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_lessons._checks import check_bool, check_positive_int
from cl_lessons.models.encoders import embedding_dim

FUSIONS = ("concat", "product", "absdiff", "bilinear")
"""The fusion names accepted by :class:`DualStreamNetwork`."""


class DualStreamNetwork(nn.Module):
    """Two different encoders for two kinds of input, a fusion, and a head on the fused vector.

    Unlike a Siamese network the streams share nothing: ``encoder_a`` might read an image and
    ``encoder_b`` a text or a user profile. The embeddings ``za (N, Da)`` and ``zb (N, Db)`` are
    fused into one vector, then a small MLP head predicts ``out_dim`` outputs.

    Fusions:
        * ``"concat"``: ``[za, zb]``, size ``Da + Db``;
        * ``"product"``: ``za * zb`` (element-wise), size ``D``; needs ``Da == Db``;
        * ``"absdiff"``: ``|za - zb|``, size ``D``; needs ``Da == Db``;
        * ``"bilinear"``: ``h_k = za^T W_k zb + c_k`` for ``k < bilinear_dim`` (``nn.Bilinear``),
          which models every pairwise interaction between the two embeddings.

    Because the head sees both inputs together, scoring one query against ``M`` candidates costs
    ``M`` forward passes of the head (see :meth:`score_candidates`); :class:`TwoTower` needs one.

    Args:
        encoder_a: encoder of the first input.
        encoder_b: encoder of the second input.
        fusion: one of :data:`FUSIONS`.
        out_dim: outputs of the head (1 gives one logit per pair, returned as ``(N,)``).
        hidden: hidden width of the head; ``0`` for a single Linear.
        dim_a: output size of ``encoder_a``; ``None`` reads ``encoder_a.out_dim``.
        dim_b: output size of ``encoder_b``; ``None`` reads ``encoder_b.out_dim``.
        bilinear_dim: output size of the bilinear fusion; ``None`` uses ``min(Da, Db)``.

    Shape:
        ``xa``: ``(N, *)``, ``xb``: ``(N, *)`` -> ``(N, out_dim)``, or ``(N,)`` if ``out_dim == 1``.

    Raises:
        ValueError: unknown fusion, or ``"product"`` / ``"absdiff"`` with ``Da != Db``.
    """

    def __init__(
        self,
        encoder_a: nn.Module,
        encoder_b: nn.Module,
        fusion: str = "concat",
        out_dim: int = 1,
        hidden: int = 64,
        dim_a: int | None = None,
        dim_b: int | None = None,
        bilinear_dim: int | None = None,
    ) -> None:
        super().__init__()
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {fusion!r}")
        da = embedding_dim(encoder_a) if dim_a is None else check_positive_int(dim_a, "dim_a")
        db = embedding_dim(encoder_b) if dim_b is None else check_positive_int(dim_b, "dim_b")
        if fusion in ("product", "absdiff") and da != db:
            raise ValueError(
                f"fusion={fusion!r} needs embeddings of equal size, got dim_a={da} and dim_b={db}; "
                "use 'concat' or 'bilinear', or give the encoders the same out_dim"
            )
        self.encoder_a, self.encoder_b = encoder_a, encoder_b
        self.fusion = fusion
        self.out_dim = check_positive_int(out_dim, "out_dim")
        if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 0:
            raise ValueError(f"hidden must be a non-negative integer, got {hidden!r}")
        self.bilinear = None
        if fusion == "concat":
            fused = da + db
        elif fusion == "bilinear":
            fused = min(da, db) if bilinear_dim is None else bilinear_dim
            fused = check_positive_int(fused, "bilinear_dim")
            self.bilinear = nn.Bilinear(da, db, fused)
        else:
            fused = da
        self.fused_dim = fused
        if hidden:
            self.head = nn.Sequential(
                nn.Linear(fused, hidden), nn.ReLU(), nn.Linear(hidden, self.out_dim)
            )
        else:
            self.head = nn.Linear(fused, self.out_dim)

    def fuse(self, za: Tensor, zb: Tensor) -> Tensor:
        """Fuse two batches of embeddings: ``(N, Da), (N, Db) -> (N, fused_dim)``."""
        if za.shape[0] != zb.shape[0]:
            raise ValueError(
                f"za and zb must hold the same number of rows, got {za.shape[0]} and {zb.shape[0]}"
            )
        if self.fusion == "concat":
            return torch.cat([za, zb], dim=1)  # (N, Da + Db)
        if self.fusion == "product":
            return za * zb  # (N, D)
        if self.fusion == "absdiff":
            return (za - zb).abs()  # (N, D)
        return self.bilinear(za, zb)  # (N, bilinear_dim)

    def forward(self, xa: Tensor, xb: Tensor) -> Tensor:
        """Encode each input with its own stream, fuse, and apply the head."""
        out = self.head(self.fuse(self.encoder_a(xa), self.encoder_b(xb)))  # (N, out_dim)
        return out.squeeze(1) if self.out_dim == 1 else out

    def score_candidates(self, xa: Tensor, xb_candidates: Tensor) -> Tensor:
        """Score one query ``xa`` (a batch of 1) against ``M`` candidates: ``M`` fused passes.

        The query is repeated ``M`` times and every candidate goes through ``encoder_b`` and the
        head together with it: the cost grows with ``M`` for every new query.

        Shape:
            ``xa``: ``(1, *)``, ``xb_candidates``: ``(M, *)`` -> ``(M,)`` or ``(M, out_dim)``.
        """
        if xa.shape[0] != 1:
            raise ValueError(f"xa must be a single query of batch size 1, got {xa.shape[0]}")
        m = xb_candidates.shape[0]
        return self(xa.expand(m, *xa.shape[1:]), xb_candidates)


class TwoTower(nn.Module):
    """Two-tower retrieval model: ``score(u, i) = f_user(u) . f_item(i)``.

    The towers never see each other's input, so the item embeddings can be computed **once** for
    the whole catalogue (:meth:`embed_items`) and every query is then a single matrix product
    (and, at scale, an approximate nearest-neighbour search). The price is that the model cannot
    express interactions beyond a dot product, which a fused :class:`DualStreamNetwork` can.

    Args:
        user_encoder: query/user tower, ``(N, *) -> (N, D)``.
        item_encoder: item tower, ``(M, *) -> (M, D)``, same ``D``.
        normalize: L2-normalise both embeddings, so scores are cosine similarities.

    Shape:
        ``forward(u, items)``: ``(N, *)``, ``(N, *)`` -> ``(N,)``, the score of each matched pair.
        ``score(u, items)``: ``(N, *)``, ``(M, *)`` -> ``(N, M)``, every user against every item.
    """

    def __init__(
        self, user_encoder: nn.Module, item_encoder: nn.Module, normalize: bool = False
    ) -> None:
        super().__init__()
        for name, enc in (("user_encoder", user_encoder), ("item_encoder", item_encoder)):
            if not isinstance(enc, nn.Module):
                raise ValueError(f"{name} must be an nn.Module, got {type(enc).__name__}")
        self.user_encoder, self.item_encoder = user_encoder, item_encoder
        self.normalize = check_bool(normalize, "normalize")

    def _post(self, z: Tensor) -> Tensor:
        return F.normalize(z, dim=1) if self.normalize else z

    def embed_users(self, u: Tensor) -> Tensor:
        """User (query) embeddings: ``(N, *) -> (N, D)``."""
        return self._post(self.user_encoder(u))

    def embed_items(self, items: Tensor, batch_size: int | None = None) -> Tensor:
        """Item embeddings, optionally computed in chunks of ``batch_size``: ``(M, *) -> (M, D)``.

        Call it once for a catalogue and reuse the result with :meth:`score_embeddings`.
        """
        if batch_size is None:
            return self._post(self.item_encoder(items))
        check_positive_int(batch_size, "batch_size")
        chunks = [
            self.item_encoder(items[s : s + batch_size]) for s in range(0, len(items), batch_size)
        ]
        return self._post(torch.cat(chunks))

    @staticmethod
    def score_embeddings(zu: Tensor, zi: Tensor) -> Tensor:
        """All dot products between precomputed embeddings: ``(N, D), (M, D) -> (N, M)``."""
        if zu.ndim != 2 or zi.ndim != 2 or zu.shape[1] != zi.shape[1]:
            raise ValueError(
                f"zu and zi must be (N, D) and (M, D) with one D, got {tuple(zu.shape)} and "
                f"{tuple(zi.shape)}"
            )
        return zu @ zi.T  # (N, M)

    def score(self, u: Tensor, items: Tensor) -> Tensor:
        """Score every user in ``u`` against every item: ``(N, *), (M, *) -> (N, M)``."""
        return self.score_embeddings(self.embed_users(u), self.embed_items(items))

    def forward(self, u: Tensor, items: Tensor) -> Tensor:
        """Score of each matched (user, item) row pair: ``(N, *), (N, *) -> (N,)``."""
        zu, zi = self.embed_users(u), self.embed_items(items)  # (N, D) each
        if zu.shape != zi.shape:
            raise ValueError(
                f"user and item embeddings must have the same shape, got {tuple(zu.shape)} and "
                f"{tuple(zi.shape)}"
            )
        return (zu * zi).sum(1)  # (N,)

    @torch.no_grad()
    def recommend(self, u: Tensor, item_embeddings: Tensor, k: int = 10) -> Tensor:
        """Indices of the ``k`` best-scoring items for each user, best first.

        Shape:
            ``u``: ``(N, *)``, ``item_embeddings``: ``(M, D)`` -> ``(N, k)`` (long).
        """
        check_positive_int(k, "k")
        if k > item_embeddings.shape[0]:
            raise ValueError(
                f"k must be <= the number of items ({item_embeddings.shape[0]}), got {k}"
            )
        scores = self.score_embeddings(self.embed_users(u), item_embeddings)  # (N, M)
        return scores.topk(k, dim=1).indices
