"""The GAX paper's (Tjoa & Guan) headline claims, declared before they are run (``core.claims``).

Notebook 02 runs H1-H3 and H6 (the AX process on existing methods), notebook 03 runs H4-H5 (GAX). Notebook 01 (the 2D
toy) is deterministic: its readings are self-checks, not claims. One Holm family over 02 and 03.
"""
from xai_nb_utils.core.claims import HeadlineClaim

PAPER = "GAX"

#: CO-score units are raw logits weighted by the paper's score constants (+1 ground truth, -1/(C-1) the others)
CO_MIN_EFFECT = 1.0
#: H3: an AUROC at least this far above 0.5 is a "stark" gap (AUROC >= 0.6)
GAP_MIN_EFFECT = 0.1
#: H4: GAX reaches the target on all images (the paper) -> non-inferiority of the share against 1 with this margin
REACH_MARGIN = 0.1
#: H5: a per-image rank correlation at least this large counts as a preference for extreme intensities
EXTREME_MIN_EFFECT = 0.1

_EMBEDDED = ("embedded stand-ins: the MNIST CNN and the DigitScenes CNN instead of ResNet34 / AlexNet on ImageNet and "
             "chest X-ray (those run only on the paper profile)")

CLAIMS = (
    HeadlineClaim(
        paper=PAPER, claim_id="H1", label="existing heatmaps raise the CO score",
        quote="Different XAI heatmap-based methods are empirically shown to improve classification confidence",
        section="Abstract",
        metric="CO score of x + h (raw logits) of the method with the highest mean CO on the selection half of the "
               "images, measured on the other (test) half; CO = 0 is the no-heatmap baseline",
        comparison="best AX method vs no heatmap (CO 0), on each trained image model (MNIST CNN, DigitScenes CNN)",
        hypothesis="superiority", direction="greater", margin=CO_MIN_EFFECT, test="paired t", planned_n=100,
        n_reason="n >= 30 paired images rule, with room: the test half of the 300 random images per model (150)",
        notebook="02_ax_co_score_gaps",
        differs=_EMBEDDED + "; the best method is chosen on a disjoint half so that the test is not biased by the "
                            "choice"),
    HeadlineClaim(
        paper=PAPER, claim_id="H2", label="the best method depends on the dataset",
        quote="to different extents depending on the datasets, e.g. Saliency works best on ImageNet and "
              "Deconvolution on Chest X-Ray Pneumonia dataset",
        section="Abstract",
        metric="CO score of x + h (raw logits) on the test half; each dataset's best method chosen on its "
               "selection half",
        comparison="on each dataset: its own best method vs the other dataset's best method (a zero difference "
                   "when both datasets pick the same method)",
        hypothesis="superiority", direction="greater", margin=CO_MIN_EFFECT, test="paired t", planned_n=100,
        n_reason="n >= 30 paired images rule, with room: the test half of the 300 random images per model (150)",
        notebook="02_ax_co_score_gaps",
        differs=_EMBEDDED + "; 'Saliency on ImageNet, Deconvolution on X-ray' is read as its general form: the "
                            "ranking changes with the dataset"),
    HeadlineClaim(
        paper=PAPER, claim_id="H3", label="CO gap between correct and wrong predictions",
        quote="The novelty includes a new gap distribution that shows a stark difference between correct and "
              "wrong predictions.",
        section="Abstract",
        metric="AUROC of the CO score (x + h, raw logits) for telling correct from wrong predictions (correct "
               "higher), minus 0.5",
        comparison="correct vs wrong predictions, for every one of the six methods on each trained image model "
                   "(Fig. 2 caption: 'All distributions show gaps')",
        hypothesis="superiority", direction="greater", margin=GAP_MIN_EFFECT, test="DeLong AUROC", planned_n=40,
        n_reason="n = the wrong predictions (the smaller group); >= 30 rule with room: the random sample is topped "
                 "up with wrong predictions from the rest of the test split until 40 (AUROC does not depend on "
                 "the group sizes)",
        notebook="02_ax_co_score_gaps", differs=_EMBEDDED),
    HeadlineClaim(
        paper=PAPER, claim_id="H4", label="GAX reaches a high CO for (nearly) every image",
        quote="the generative augmentative explanation is introduced, a method to generate heatmaps capable of "
              "improving predictive confidence to a high level.",
        section="Abstract",
        metric="share of correctly predicted images whose GAX CO score (x + tanh(w * x + b), raw logits) reaches "
               "the target within the iteration budget, minus 1 (the paper: 'all images tested do attain the "
               "target')",
        comparison="share reaching the target vs all images, on each model (MNIST CNN, DigitScenes CNN)",
        hypothesis="non-inferiority", direction="greater", margin=REACH_MARGIN, test="exact binomial",
        planned_n=60,
        n_reason="if every image reaches the target, the Clopper-Pearson bound clears 1 - 0.1 at Holm's strictest "
                 "level 0.05/6 from n = 53; 60 leaves room (one miss still clears it at the unadjusted level)",
        notebook="03_gax_generative_heatmaps", premises=("target_above_ax",),
        differs=_EMBEDDED + "; the target follows the paper's rule (above most AX scores: the 90th percentile of "
                            "every method on the same images) instead of ImageNet's 48; a budget of 500 "
                            "iterations ('a few hundred', the paper's slowest images) where the paper has no cap"),
    HeadlineClaim(
        paper=PAPER, claim_id="H5", label="GAX works through extreme intensities",
        quote="We also give explanations on DNN behaviour consistent with the standard practice of deep learning "
              "training.",
        section="Sec. 5 Conclusion (the explanation, Sec. 4.3: 'DNN optimizes through extreme intensities')",
        metric="per image: Spearman correlation over the pixels between |h - h0| (what GAX changed) and the "
               "pixel's distance from mid-grey |x - 0.5|",
        comparison="rank correlation vs 0, on each model whose images have intensity headroom",
        hypothesis="superiority", direction="greater", margin=EXTREME_MIN_EFFECT, test="paired t", planned_n=60,
        n_reason="the images of H4 (n >= 30 rule, with room)",
        notebook="03_gax_generative_heatmaps", premises=("intensity_headroom",),
        differs=_EMBEDDED + "; a rank correlation instead of a reading of four heatmaps (no arbitrary 0.1 / 0.9 "
                            "cut); near-binary images (MNIST) leave no intermediate intensities to compare with, "
                            "so a model is used only where at least a quarter of its pixels are intermediate"),
    HeadlineClaim(
        paper=PAPER, claim_id="H6", label="the heatmap's content, not its values, raises the CO",
        quote="This work also debunks claims that heatmaps are not useful through the improvement of predictive "
              "confidence.",
        section="Sec. 5 Conclusion",
        metric="CO score of x + h (raw logits) of H1's best method, minus the CO of the same heatmap with its "
               "elements shuffled within the image (same values, no spatial information), on the test half",
        comparison="best method's heatmap vs its shuffled copy, on each trained image model (MNIST CNN, DigitScenes "
                   "CNN)",
        hypothesis="superiority", direction="greater", margin=CO_MIN_EFFECT, test="paired t", planned_n=100,
        n_reason="n >= 30 paired images rule, with room: the test half of the 300 random images per model (150)",
        notebook="02_ax_co_score_gaps",
        differs=_EMBEDDED + "; 'useful' is read as: the improvement comes from where the heatmap puts its values "
                            "(the paper's toy shows that h = x, which says nothing, also raises the CO score)"),
)
