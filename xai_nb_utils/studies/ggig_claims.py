"""The headline claims of Rahman, Lewis & Plis (*Geometrically Guided Saliency Maps*), declared before notebook 07
runs them.

**One primary metric for Figure 2.** The paper scores each map against its input with five correlated similarity
metrics (Pearson, Spearman, weighted Jaccard, SSIM, reverse MSE) and claims the improvement on all of them. Five
metrics must not be five decisions, so H1-H4 are decided on one, chosen from the paper's text before the run:
**Pearson's r** between |map| and the input, both rescaled to [0, 1]. It is the first metric the paper lists, the
"numerical correlation" of the Figure 2 caption ("higher structural and numerical correlations with the input"),
and the only one whose definition leaves no choice: the paper gives no formula for reverse MSE, and the authors'
Spearman helper ranks only the top eighth of the pixels. The other four are shown beside it as description.

Margins:

* H1-H4: minimum effect 0.01 in Pearson's r (one hundredth of the correlation scale); planned n from a power
  calculation (80% power for a standardised effect d = 0.35 at Holm's strictest level in this family of 6):
  smaller standardised effects are left inconclusive rather than paid for with several hundred digits of GGIG.
* H5 ("as sensitive as"): non-inferiority, margin 0.05 in the Spearman correlation between the trained and the
  randomised model's map (a twentieth of the way from an unchanged map, 1, to an unrelated one, 0). Maps that
  change more than GRAD's and IG's do not go against the paper, only maps that change less by more than the margin.
* H6 ("ignored the background"), as the paper states it: the share of |map| on the background is below the share a
  uniform map puts there (the background's share of the pixels), by a minimum of 0.05 (five points of the map's
  mass). "No more salient than on black" is stricter than the paper's sentence and is not claimed.
"""
from xai_nb_utils.core.claims import HeadlineClaim
from xai_nb_utils.metrics.statistics import powered

PAPER = "GGIG/GEG"
NOTEBOOK = "07_ggig_geg_mnist"
FAMILY_SIZE = 6
#: the metric H1-H4 are decided on (see the module docstring), a column of ``metrics.similarity.similarity_to_input``
PRIMARY_METRIC = "pearson"
MIN_IMPROVEMENT = 0.01  # H1-H4, in Pearson's r
SENSITIVITY_MARGIN = 0.05  # H5, in Spearman(trained map, random map)
BACKGROUND_MIN_EFFECT = 0.05  # H6, in the map's share of mass
SIMILARITY_EFFECT_SIZE = 0.35
SIMILARITY_N, SIMILARITY_N_REASON = powered(SIMILARITY_EFFECT_SIZE, FAMILY_SIZE)
RANDOMIZATION_N = BACKGROUND_N = 40
SMALL_FAMILY_REASON = ("n >= 30 paired digits, rounded up to 40; each digit costs the four methods once more (on "
                       "the randomised model, or on the checkerboard)")
#: the premises' names (computed by ``ggig_study``)
HEADROOM = "headroom"
GEG_ACCEPTED = "GEG accepted its models"
BASELINES_CHANGE = "GRAD and IG change"
DIGITS_RECOGNISED = "digits recognised on the checkerboard"

TESTBED = ("the paper's CNN and training recipe on the 5,000 embedded MNIST digits (3,500 for training; the paper "
           "profile: the full MNIST) instead of the full MNIST; maps explain the predicted class")
SETTINGS = ("default profile: GGIG with 21 path points and 20 ascent iterations (the paper: 51 and 200; the "
            "notebook's sweep shows the iterations barely matter at the ascent rate 1e-4), GEG with 100 accepted "
            "models (the paper: 200)")
ABSTRACT = "Compared to vanilla and integrated gradients, these methods significantly improve saliency maps"
SIMILARITY_METRIC = ("Pearson's r between |map| and the input digit, both rescaled to [0, 1] per image (the first "
                     "of Fig. 2's five metrics; the other four are shown, not decided)")
#: H1-H4: (proposed method, baseline), the compared pair of each claim
SIMILARITY_PAIRS = {"H1": ("GEG", "GRAD"), "H2": ("GEG", "IG"), "H3": ("GGIG", "GRAD"), "H4": ("GGIG", "IG")}
BASELINE_NAMES = {"GRAD": "vanilla gradients", "IG": "integrated gradients"}


def _similarity_claim(claim_id: str) -> HeadlineClaim:
    proposed, baseline = SIMILARITY_PAIRS[claim_id]
    return HeadlineClaim(
        PAPER, claim_id, f"{proposed} closer to the input than {baseline}", ABSTRACT, "Abstract (Fig. 2, Sec. 4)",
        SIMILARITY_METRIC, f"{proposed} vs {baseline} ({BASELINE_NAMES[baseline]}), paired per test digit",
        "superiority", "greater", MIN_IMPROVEMENT, "paired t", SIMILARITY_N, SIMILARITY_N_REASON, NOTEBOOK,
        premises=(HEADROOM,) + ((GEG_ACCEPTED,) if proposed == "GEG" else ()),
        differs=f"{TESTBED}; {SETTINGS}; IG without the (x - x') factor, as in the paper",
        effect_size=SIMILARITY_EFFECT_SIZE)


CLAIMS = tuple(_similarity_claim(claim_id) for claim_id in SIMILARITY_PAIRS) + (
    HeadlineClaim(
        PAPER, "H5", "GGIG and GEG as sensitive to randomisation as GRAD and IG",
        "The proposed methods, GGIG and GEG, were as sensitive as GRAD and IG", "Sec. 4 (model randomization test)",
        "per digit, Spearman's rank correlation between the trained model's |map| and the fully re-initialised "
        "model's |map|, both rescaled to [0, 1] (1 = unchanged; lower = more sensitive)",
        "GGIG vs GRAD, GGIG vs IG, GEG vs GRAD, GEG vs IG (all must hold)",
        "non-inferiority", "less", SENSITIVITY_MARGIN, "paired t", RANDOMIZATION_N, SMALL_FAMILY_REASON, NOTEBOOK,
        premises=(BASELINES_CHANGE,),
        differs=f"{TESTBED}; {SETTINGS}; the paper shows maps only and gives no measure of the change: Spearman is "
                "the measure of Adebayo et al.'s randomisation test"),
    HeadlineClaim(
        PAPER, "H6", "every method puts less than a uniform share on the checkerboard",
        "all the saliency methods supposedly ignored the background", "Appendix D.4 (Fig. 7)",
        "per digit composited on a checkerboard (the notebook's default: squares of 4 px alternating 0 and 0.5), the "
        "share of |map| on the background pixels minus the background's share of the image (what a uniform map "
        "puts there)",
        "the background share of each of GRAD, IG, GGIG, GEG vs the uniform share (all must hold)",
        "superiority", "less", BACKGROUND_MIN_EFFECT, "paired t", BACKGROUND_N, SMALL_FAMILY_REASON, NOTEBOOK,
        premises=(DIGITS_RECOGNISED,),
        differs=f"{TESTBED}; ImageNet objects on a checkerboard in the paper (maps only, no numbers), MNIST digits "
                "here, which the model never saw on a background"),
)
