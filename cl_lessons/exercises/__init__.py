"""``check_*`` helpers a learner calls on their own solution, one module per lesson.

Every check returns a :class:`CheckResult` that is truthy when the solution is right and shows a
hint when it is not; it never raises because of the learner's code.
"""

from cl_lessons.exercises._core import CheckFailed, CheckResult, exercise_check, expect_close
from cl_lessons.exercises.lesson00 import check_euclidean

# one import per lesson, in lesson order
from cl_lessons.exercises.lesson01 import check_cosine_similarity, check_pairwise_distances
from cl_lessons.exercises.lesson02 import (
    check_l1_head,
    check_siamese_forward,
    check_verification_accuracy,
)
from cl_lessons.exercises.lesson03 import check_fusion, check_two_tower_scores
from cl_lessons.exercises.lesson04 import check_contrastive_grad, check_contrastive_loss
from cl_lessons.exercises.lesson05 import check_triplet_category, check_triplet_loss
from cl_lessons.exercises.lesson06 import check_batch_hard, check_valid_triplet_mask
from cl_lessons.exercises.lesson07 import check_alignment, check_info_nce, check_uniformity
from cl_lessons.exercises.lesson08 import (
    check_collapse_std,
    check_momentum_update,
    check_queue_update,
)
from cl_lessons.exercises.lesson09 import check_knn_indices, check_pca_2d
from cl_lessons.exercises.lesson10 import check_cmc_curve, check_tar_at_far
from cl_lessons.exercises.lesson11 import check_map_at_r, check_prototype_classifier
from cl_lessons.exercises.lesson12 import (
    check_info_nce_numerator,
    check_one_batch_overfit,
    check_pair_bce_loss,
    check_shared_siamese,
    check_squared_triplet_loss,
)
from cl_lessons.exercises.lesson12_eval import (
    check_identity_split,
    check_leave_one_out_accuracy,
    check_paired_comparison,
    check_validation_threshold,
)
from cl_lessons.exercises.lesson13 import check_chunked_info_nce, check_gather_backward
from cl_lessons.exercises.lesson14 import check_clip_loss, check_zero_shot_predict
from cl_lessons.exercises.stand_ins import STAND_INS, yours_or_ours

__all__ = [
    "STAND_INS",
    "CheckFailed",
    "CheckResult",
    "check_alignment",
    "check_batch_hard",
    "check_chunked_info_nce",
    "check_clip_loss",
    "check_cmc_curve",
    "check_collapse_std",
    "check_contrastive_grad",
    "check_contrastive_loss",
    "check_cosine_similarity",
    "check_euclidean",
    "check_fusion",
    "check_gather_backward",
    "check_identity_split",
    "check_info_nce",
    "check_info_nce_numerator",
    "check_knn_indices",
    "check_l1_head",
    "check_leave_one_out_accuracy",
    "check_map_at_r",
    "check_momentum_update",
    "check_one_batch_overfit",
    "check_pair_bce_loss",
    "check_paired_comparison",
    "check_pairwise_distances",
    "check_pca_2d",
    "check_prototype_classifier",
    "check_queue_update",
    "check_shared_siamese",
    "check_siamese_forward",
    "check_squared_triplet_loss",
    "check_tar_at_far",
    "check_triplet_category",
    "check_triplet_loss",
    "check_two_tower_scores",
    "check_uniformity",
    "check_valid_triplet_mask",
    "check_validation_threshold",
    "check_verification_accuracy",
    "check_zero_shot_predict",
    "exercise_check",
    "expect_close",
    "yours_or_ours",
]
