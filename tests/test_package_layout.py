"""The package's layout: public names survive the split into subpackages, rooms stay small, and
importing the widgets stays light.

The name lists below are frozen copies of each module's public names from before it became a
subpackage (``__all__`` plus the public names outside it). They are deliberately written out:
a re-export dropped from an ``__init__.py`` makes this test fail.
"""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "cl_lessons"

# module -> (its __all__ before the split, its other public names before the split)
PUBLIC = {
    "scale": (  # lesson 13
        [
            "WorkerError",
            "ddp_step",
            "distributed_info_nce",
            "free_port",
            "full_batch_step",
            "gather_with_grad",
            "grad_cache_step",
            "info_nce_bytes",
            "info_nce_chunked",
            "info_nce_chunked_bytes",
            "measure_peak_memory",
            "plain_all_gather",
            "probe",
            "run_distributed",
        ],
        [],
    ),
    "widgets": (
        [
            "App",
            "decision_regions",
            "distance_explorer",
            "embedding_explorer",
            "few_shot_explorer",  # lesson 11
            "gallery_explorer",  # lesson 10
            "hypersphere_view",
            "margin_explorer",
            "memory_wall",  # lesson 13
            "retrieval_explorer",  # lesson 11
            "temperature_explorer",
            "text_search",  # lesson 14
            "threshold_explorer",
            "train_2d_explorer",
            "triplet_zones",
            "verification_explorer",  # lesson 10
            "zero_shot_explorer",  # lesson 14
        ],
        [
            "RETRAIN_CLASS",
            "DistanceExplorer",
            "MarginExplorer",
            "TripletZones",
            "TemperatureExplorer",
            "ThresholdExplorer",
            "EmbeddingExplorer",
            "DecisionRegions",
            "train_2d",
            "Train2DExplorer",
            "HypersphereView",
            "VerificationExplorer",  # lesson 10
            "GalleryExplorer",  # lesson 10
            "FewShotExplorer",  # lesson 11
            "RetrievalExplorer",  # lesson 11
            "MemoryWall",  # lesson 13
            "TextSearch",  # lesson 14
            "ZeroShotExplorer",  # lesson 14
        ],
    ),
    "data": (
        [
            "CaptionTokenizer",  # lesson 14
            "CaptionedDigits",  # lesson 14
            "Episodes",  # lesson 11
            "FACE_PARAM_NAMES",
            "PKSampler",
            "SyntheticFaces",
            "TransformedDigits",
            "add_noise",
            "augment",
            "compose_caption",  # lesson 14
            "few_shot_episodes",  # lesson 11
            "load_digits",
            "load_lfw_pairs",
            "load_mnist",
            "load_olivetti_faces",
            "make_blobs",
            "make_moons",
            "make_pairs",
            "make_rings",
            "make_spirals",
            "make_triplets",
            "random_affine",
            "random_erasing",
            "random_intensity",
            "render_faces",
            "sample_per_class",  # lesson 07
            "split_by_class",
            "stratified_split",
            "two_views",
        ],
        [],
    ),
    "training": (
        [
            "CheckpointError",
            "History",
            "PKBatches",
            "TensorBatches",
            "embed_dataset",
            "fit",
            "labeled_objective",
            "load_checkpoint",
            "pair_classifier_objective",
            "pair_objective",
            "pair_scores",
            "retrieval_report",
            "save_checkpoint",
            "triplet_objective",
            "two_view_objective",
            "verification_report",
        ],
        ["LossFn", "Callback", "CHECKPOINT_FORMAT"],
    ),
    "losses": (
        [
            "BatchTripletLoss",
            "ContrastiveLoss",
            "NTXentLoss",
            "NegativeCosineLoss",
            "SupConLoss",
            "TripletLoss",
            "batch_triplet_loss",
            "clip_loss",  # lesson 14
            "contrastive_loss",
            "info_nce",
            "negative_cosine",
            "supcon_loss",
            "triplet_loss",
        ],
        ["DISTANCES", "REDUCTIONS", "MININGS"],
    ),
    "viz": (
        [
            "NEGATIVE",
            "PALETTE",
            "POSITIVE",
            "ZONE_COLORS",
            "ZONE_NAMES",
            "as_images",
            "class_colors",
            "image_grid",
            "label_alignment_uniformity",
            "negative_zones",
            "plot_decision_regions",
            "plot_distance_histograms",
            "plot_distance_matrix",
            "plot_embedding_2d",
            "plot_hypersphere",
            "plot_loss_curves",
            "plot_roc",
            "plot_singular_values",
            "plot_triplet_zones",
        ],
        [],
    ),
    "metrics": (
        [
            "PROBE_CS",  # lesson 07
            "alignment",
            "best_threshold",
            "choose_probe_c",  # lesson 07
            "cmc_curve",  # lesson 10
            "detection_identification_rate",  # lesson 10
            "equal_error_rate",
            "few_shot_accuracy",  # lesson 11
            "knn_accuracy",
            "linear_probe_accuracy",
            "map_at_r",  # lesson 11
            "precision_at_k",  # lesson 11
            "recall_at_k",
            "roc_auc",
            "roc_curve",
            "tar_at_far",  # lesson 10
            "threshold_at_far",  # lesson 10
            "uniformity",
            "verification_rates",  # lesson 10
        ],
        [],
    ),
    "models": (
        [
            "FUSIONS",
            "BagOfWordsEncoder",  # lesson 14
            "ConvEncoder",
            "DualEncoder",  # lesson 14
            "DualStreamNetwork",
            "GRUTextEncoder",  # lesson 14
            "MLPEncoder",
            "ProjectionHead",
            "PseudoSiameseNetwork",
            "SiameseClassifier",
            "SiameseNetwork",
            "TwoTower",
            "count_parameters",
            "embedding_dim",
        ],
        [],
    ),
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_every_public_name_is_importable_from_the_same_place(module):
    listed, others = PUBLIC[module]
    mod = importlib.import_module(f"cl_lessons.{module}")
    missing = [name for name in listed + others if not hasattr(mod, name)]
    assert not missing, f"cl_lessons.{module} lost {missing}"
    # `from cl_lessons.<module> import *` gives the same names as before, no more and no fewer
    assert sorted(mod.__all__) == sorted(listed)
    namespace: dict = {}
    exec(f"from cl_lessons.{module} import *", namespace)
    assert sorted(n for n in namespace if n != "__builtins__") == sorted(listed)


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_re_exports_are_the_objects_defined_in_the_subpackage(module):
    # a name re-exported from elsewhere (a stale copy, another package) would not match
    listed, others = PUBLIC[module]
    mod = importlib.import_module(f"cl_lessons.{module}")
    for name in listed + others:
        obj = getattr(mod, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert obj.__module__.startswith(f"cl_lessons.{module}."), (name, obj.__module__)


def test_every_subpackage_init_is_a_table_of_contents():
    for init in PACKAGE.glob("*/__init__.py"):
        text = init.read_text()
        assert "import *" not in text, init
        if init.parent.name == "exercises":
            continue
        for path in init.parent.glob("*.py"):
            if path.name != "__init__.py":
                assert path.name in text, f"{init} does not list {path.name}"


def test_no_file_in_the_package_is_a_warehouse():
    lengths = {
        p.relative_to(PACKAGE): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")
    }
    too_long = {str(p): n for p, n in lengths.items() if n > 600}
    assert not too_long, too_long


def test_importing_the_widgets_does_not_load_umap_or_tsne():
    code = (
        "import sys, cl_lessons.widgets\n"
        "heavy = [m for m in sys.modules\n"
        "         if m == 'umap' or m.startswith(('umap.', 'sklearn.manifold'))]\n"
        "print(heavy)\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
