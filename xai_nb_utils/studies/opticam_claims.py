"""The headline claims of the Opti-CAM paper (Zhang et al., CVIU 2024), declared before notebook 05 runs them.

Minimum effects follow one rule: half the paper's smallest gap of the same kind in its Table 1 (ResNet50 and
VGG16), so that "largely" and "fails" mean at least half of what the paper itself shows.

* H1 (AD and AG, points): Opti-CAM's smallest lead over a CAM method is 7.1 AD points (ResNet50, Score-CAM 8.6 vs
  1.5); its AG leads are larger (at least 42.2). Minimum effect 3.5 points on both.
* H2 (AI, share of images): Opti-CAM's smallest AI lead over another method is 36.1 points (ResNet50, Score-CAM
  56.7 vs 92.8). Minimum effect 0.18 (a difference of shares).
* H3 (Fake-CAM, points): Fake-CAM's smallest AD lead over a CAM method is 7.8 (ResNet50, Score-CAM), its smallest AG
  deficit 2.5 (VGG16, Layer-CAM 3.1 vs 0.6). Minimum effect 1.25 points on both.
* H4 (LE, points): the paper's Table A7 gap between Opti-CAM and Grad-CAM on LE (VGG16) is 2.4 points. Minimum effect
  1.2 points.

No timing claim: the paper says Opti-CAM is "on par or faster" than the gradient-free methods only "assuming that the
number of iterations is less than the number of channels", and its own VGG16 row (512 channels, 100 iterations) has
Opti-CAM slower than Score-CAM (3.94 vs 3.11 s per batch). The notebook shows the times beside the channel counts.
"""
from xai_nb_utils.core.claims import HeadlineClaim

PAPER = "Opti-CAM"
NOTEBOOK = "05_opticam_tables"
PLANNED_N = 48
N_REASON = ("n >= 30 paired images; the default profile explains 48 DigitScenes and 64 MNIST images with every "
            "method, the costly ones (Score-CAM, Ablation-CAM, LIME) on the first 48 of each")
TESTBED = ("DigitScenes (64x64) with the workbook's SceneCNN (128 channels at its CAM layer) and MNIST with MnistCNN "
           "(64 channels) instead of ImageNet with VGG16 / ResNet50")
#: the premises' names (checked by ``opticam_tables``)
HEADROOM, AI_HEADROOM = "AD/AG headroom", "AI headroom"
FAKE_CAM_MASKS, CLASSIFICATION_FAVOURS = "Fake-CAM masks a pixel", "classification favours Opti-CAM"
#: the CAM methods of the paper's Table 1 that the workbook has (registry names), and every other baseline
CAM_BASELINES = ("gradcam", "gradcam_pp", "scorecam", "ablationcam", "xgradcam", "layercam", "hirescam")
OTHER_BASELINES = ("lime", "gradient_shap")
CAM_NAMES = "Grad-CAM, Grad-CAM++, Score-CAM, Ablation-CAM, XGrad-CAM, Layer-CAM, HiRes-CAM"

CLAIMS = (
    HeadlineClaim(
        PAPER, "H1", "Opti-CAM ahead of every CAM method on AD and AG",
        "Opti-CAM largely outperforms other CAM-based approaches according to the most relevant classification "
        "metrics", "Abstract",
        "Opti-CAM's lead per image in percentage points on the paper's primary pair (Sec. 5.3.1): the baseline's AD "
        "term minus Opti-CAM's (eq. 13) and Opti-CAM's AG term minus the baseline's (eq. 15)",
        f"Opti-CAM vs each of {CAM_NAMES}, on AD and on AG, on both systems (all 28 must hold)",
        "superiority", "greater", 3.5, "paired t", PLANNED_N, N_REASON, NOTEBOOK, premises=(HEADROOM,),
        differs=TESTBED + "; ExPerturbation not run (not a CAM method)"),
    HeadlineClaim(
        PAPER, "H2", "Opti-CAM raises the class probability more often than every baseline",
        "we improve the state of the art by a large margin", "Sec. 1 (contribution 4)",
        "per image, whether masking by the map raises the class probability (the AI term of eq. 14, yes/no); the "
        "paper's Sec. 5.3.1: 'above 90% AI'",
        f"Opti-CAM vs each of {CAM_NAMES}, LIME, GradientShap, on both systems (all 18 must hold)",
        "superiority", "greater", 0.18, "exact McNemar", PLANNED_N, N_REASON, NOTEBOOK, premises=(AI_HEADROOM,),
        differs=TESTBED + "; ExPerturbation not run; LIME on 8x8-pixel super-pixels"),
    HeadlineClaim(
        PAPER, "H3", "AD rewards Fake-CAM, AG exposes it",
        "We also fix a fundamental flaw in two of the most common evaluation metrics of attribution methods.",
        "Abstract",
        "Fake-CAM's (the top-left pixel masked) per-image AD term (the flaw: it drops less) and AG term (the fix: it "
        "gains less), percentage points",
        f"Fake-CAM vs each of {CAM_NAMES}, on AD and on AG, on DigitScenes (all 14 must hold)",
        "superiority", "less", 1.25, "paired t", PLANNED_N, N_REASON, NOTEBOOK, premises=(FAKE_CAM_MASKS,),
        differs=TESTBED + "; MNIST is left out: its top-left pixel is black in every image, so Fake-CAM masks "
                          "nothing there (the notebook prints the share); the AI side of the flaw is a table-cell "
                          "row"),
    HeadlineClaim(
        PAPER, "H4", "the maps that classification favours localise worse",
        "We provide empirical evidence supporting that localization and classifier interpretability are not "
        "necessarily aligned.", "Abstract",
        "per-image localization error LE (eq. A2: 100 x (1 - IoU) of the box around the largest component of the "
        "map thresholded at its mean, with the digit's box)",
        "Opti-CAM vs Grad-CAM on DigitScenes (premise: Opti-CAM's mean AD on the same images is below Grad-CAM's)",
        "superiority", "greater", 1.2, "paired t", PLANNED_N, N_REASON, NOTEBOOK, premises=(CLASSIFICATION_FAVOURS,),
        differs=TESTBED + "; the paper's Table A7 has Opti-CAM slightly ahead of Grad-CAM on LE (VGG16: 59.9 vs "
                          "62.3) but behind on F1, BA, SP and EP, and argues mainly from its box study (Table 5); "
                          "here the sentence is tested as: the method the classification metrics favour localises "
                          "the digit worse than Grad-CAM"),
)
