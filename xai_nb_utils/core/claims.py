"""The papers' headline claims: declared before they are run, decided by one rule, corrected within each paper.

A :class:`HeadlineClaim` is a declaration, written in the paper's claims module before any number is seen: the
paper's sentence (verbatim, with its section), what we measure, the hypothesis (*superiority* with a minimum
effect; *non-inferiority* or *equivalence* with a margin, for "on par", "comparable", "as sensitive as"), the
test, the planned n with its reason, and the premises the claim needs (a manipulation check, the testbed's
headroom for the metric). Numbers come from ``metrics.statistics`` as *components*, one per compared pair (a claim
about "every method" or "all resolutions" holds when all of its components hold: an intersection-union test), each
with its estimate, n, the p-value at the hypothesis' null and its confidence interval at every level a Holm step
can ask for. :func:`decide_family` applies Holm's step-down correction within one paper and reads the verdict off
the interval at the claim's Holm level (:func:`interval_verdict`), so the interval and the p-value always agree.

The five verdicts:

* *reproduced*: the hypothesis is shown (superiority: the interval excludes 0 in the paper's direction and the
  estimate reaches the minimum effect; non-inferiority: the interval lies above minus the margin; equivalence:
  the interval lies within plus or minus the margin), and Holm rejects the claim's null;
* *contradicted*: the opposite is shown (an effect of at least the minimum size against the paper's direction; a
  loss beyond the non-inferiority margin; a difference beyond the equivalence margin);
* *no effect*: a superiority claim whose interval lies within plus or minus the minimum effect (shown negligible);
* *inconclusive*: none of those, or not decided because the claim is underpowered (n below the planned n, or a test
  that cannot reach the claim's level at this n);
* *not testable here*: a premise failed or a named property of the testbed decides it (the reason is printed).

Only claims that can be decided (premises met, n as planned) enter the Holm family.
"""
from dataclasses import asdict, dataclass

VERDICTS = ("reproduced", "contradicted", "no effect", "inconclusive", "not testable here")
HYPOTHESES = ("superiority", "non-inferiority", "equivalence")
DIRECTIONS = ("greater", "less")
TESTS = ("paired t", "exact McNemar", "exact binomial", "DeLong AUROC", "paired bootstrap")
#: the family-wise error rate of each paper's headline family
ALPHA = 0.05
#: no claim may be planned below this n
MIN_PLANNED_N = 20


@dataclass(frozen=True)
class HeadlineClaim:
    """A paper's headline claim as declared before it is run (see the module docstring)."""

    paper: str
    claim_id: str  # "H1", ... within the paper
    label: str  # a short name for tables
    quote: str  # the paper's words, verbatim
    section: str  # where the paper says it
    metric: str  # what is measured, with its convention
    comparison: str  # what is compared with what ("a vs b"; several pairs = all must hold)
    hypothesis: str  # one of HYPOTHESES
    direction: str  # the paper's direction of a - b: "greater" or "less"
    margin: float  # minimum effect (superiority) or margin (non-inferiority, equivalence), in the metric's units
    test: str  # one of TESTS
    planned_n: int  # the number of paired images (or pairs, or predictions) the decision needs
    n_reason: str  # why that n (a power calculation or the n >= 30 rule)
    notebook: str  # the notebook that runs it
    premises: tuple = ()  # names of the premise checks it needs; the notebook computes them
    differs: str = ""  # what differs from the paper's setup, and why
    effect_size: float | None = None  # the standardised effect the planned n is powered for (paired t), if any

    def __post_init__(self):
        for name, value, allowed in (("hypothesis", self.hypothesis, HYPOTHESES),
                                     ("direction", self.direction, DIRECTIONS), ("test", self.test, TESTS)):
            if value not in allowed:
                raise ValueError(f"claim {self.paper} {self.claim_id}: {name} {value!r} is not one of {allowed}")
        if not self.quote.strip() or not self.section.strip():
            raise ValueError(f"claim {self.paper} {self.claim_id}: the paper's words and their section are needed")
        if self.margin < 0 or (self.hypothesis != "superiority" and self.margin == 0):
            raise ValueError(f"claim {self.paper} {self.claim_id}: a {self.hypothesis} claim needs a positive "
                             f"margin, got {self.margin}")
        if self.planned_n < MIN_PLANNED_N:
            raise ValueError(f"claim {self.paper} {self.claim_id}: planned n {self.planned_n} is below "
                             f"{MIN_PLANNED_N}; no claim is decided on fewer")

    def as_dict(self) -> dict:
        return {**asdict(self), "premises": list(self.premises)}


def signed(direction: str, value: float) -> float:
    """``value`` (a - b) measured in the paper's direction: positive supports the paper."""
    return value if direction == "greater" else -value


def null_values(hypothesis: str, direction: str, margin: float) -> tuple:
    """The values of a - b whose rejection shows the hypothesis (the p-value of a claim is the largest two-sided
    p-value at these): 0 for superiority, minus the margin (in the paper's direction) for non-inferiority, both
    ends of the margin for equivalence."""
    if hypothesis == "superiority":
        return (0.0,)
    if hypothesis == "non-inferiority":
        return (signed(direction, -margin),)
    return (-margin, margin)


def interval_verdict(hypothesis: str, direction: str, margin: float, estimate: float, low: float,
                     high: float) -> str:
    """The verdict that the estimate of a - b and its interval [low, high] give (before Holm's gate)."""
    estimate = signed(direction, estimate)
    low, high = sorted((signed(direction, low), signed(direction, high)))
    if hypothesis == "superiority":
        if low > 0 and estimate >= margin:
            return "reproduced"
        if high < 0 and estimate <= -margin:
            return "contradicted"
        if margin > 0 and -margin < low and high < margin:
            return "no effect"
        return "inconclusive"
    if hypothesis == "non-inferiority":
        return "reproduced" if low > -margin else "contradicted" if high < -margin else "inconclusive"
    if -margin < low and high < margin:
        return "reproduced"
    return "contradicted" if low >= margin or high <= -margin else "inconclusive"


def combine(verdicts: list) -> str:
    """One verdict for a claim that needs all of its components: reproduced when all are, contradicted when one
    is, no effect when one shows none, inconclusive otherwise."""
    for verdict in ("contradicted", "no effect", "inconclusive"):
        if verdict in verdicts:
            return verdict
    return "reproduced"


def holm(p_values: list, alpha: float = ALPHA) -> tuple:
    """Holm's step-down procedure: (adjusted p-values, the interval index k of each claim: its level is
    alpha / k), in the order given."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    m, adjusted, levels, running = len(p_values), [1.0] * len(p_values), [1] * len(p_values), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i], levels[i] = running, m - rank
    return adjusted, levels


def _failed_premises(row: dict) -> list:
    return [p for p in row.get("premises_checked", []) if not p["passed"]]


def _underpowered(row: dict, level: float) -> str:
    """Why a testable-looking claim cannot be decided ('' when it can)."""
    n = min(c["n"] for c in row["components"])
    if n < row["planned_n"]:
        return f"underpowered: n = {n} is below the planned {row['planned_n']}"
    weak = [c for c in row["components"] if c["min_p"] >= level]
    if weak:
        return (f"underpowered: at n = {weak[0]['n']} the {row['test']} cannot go below p = {weak[0]['min_p']:.3g} "
                f"({weak[0]['label']})")
    return ""


def _fmt(value: float) -> str:
    return f"{value:+.4g}"


def decide_family(rows: list, alpha: float = ALPHA) -> list:
    """Decide one paper's headline claims (recorded rows: a declaration's fields, ``components`` and
    ``premises_checked``), Holm-corrected among those that can be decided. Returns new rows with ``verdict``,
    ``reason``, ``p_claim``, ``p_holm``, ``level`` and the deciding component's ``estimate``, ``ci_low``,
    ``ci_high``, ``n``, ``mean_a``, ``mean_b`` (the weakest component, or the one that contradicts)."""
    decided, testable = [], []
    for row in rows:
        row = {**row, "p_claim": None, "p_holm": None, "level": None}
        failed = _failed_premises(row)
        if failed:
            row.update(verdict="not testable here", underpowered=False,
                       reason="premise failed: " + "; ".join(f"{p['name']}: {p['detail']}" for p in failed))
        elif not row["components"]:
            row.update(verdict="inconclusive", underpowered=False, reason="not run")
        else:
            reason = _underpowered(row, alpha)
            row.update(underpowered=bool(reason), verdict="inconclusive" if reason else None, reason=reason)
            row["p_claim"] = max(c["p_null"] for c in row["components"])
            if not reason:
                testable.append(row)
        decided.append(row)
    adjusted, indices = holm([row["p_claim"] for row in testable], alpha)
    for row, p_holm, k in zip(testable, adjusted, indices):
        level = alpha / k
        reason = _underpowered(row, level)
        components = [{**c, "ci_low": c["intervals"][k - 1][0], "ci_high": c["intervals"][k - 1][1]}
                      for c in row["components"]]
        for c in components:
            c["verdict"] = interval_verdict(row["hypothesis"], row["direction"], row["margin"], c["estimate"],
                                            c["ci_low"], c["ci_high"])
        verdict = "inconclusive" if reason else combine([c["verdict"] for c in components])
        if verdict == "reproduced" and p_holm >= alpha:
            verdict, reason = "inconclusive", (f"each interval at level {level:.3g} supports the claim, but Holm's "
                                               f"step-down stops before it (adjusted p = {p_holm:.3g})")
        row.update(components=components, p_holm=p_holm, level=level, verdict=verdict, underpowered=bool(reason),
                   reason=reason or _reason(row, components, verdict, level))
    for row in decided:
        if row["level"] is None and row["components"]:  # not decided: show the uncorrected interval
            row["components"] = [{**c, "ci_low": c["intervals"][0][0], "ci_high": c["intervals"][0][1]}
                                 for c in row["components"]]
        deciding = _deciding(row)
        if deciding:
            row.update({key: deciding.get(key) for key in ("estimate", "ci_low", "ci_high", "n", "mean_a",
                                                           "mean_b")}, deciding_component=deciding["label"])
    return decided


def _deciding(row: dict) -> dict | None:
    """The component a claim's numbers are shown for: the one that contradicts or shows no effect, else the weakest
    (largest p-value)."""
    components = row["components"]
    if not components:
        return None
    for verdict in ("contradicted", "no effect"):
        hits = [c for c in components if c.get("verdict") == verdict]
        if hits:
            return hits[0]
    return max(components, key=lambda c: c["p_null"])


def _reason(row: dict, components: list, verdict: str, level: float) -> str:
    """A sentence on why the verdict follows from the intervals at ``level``."""
    confidence = f"{1 - level:.2%}".rstrip("0").rstrip(".") + " CI"
    margin = row["margin"]
    words = {"superiority": f"minimum effect {margin:g}", "non-inferiority": f"margin {margin:g}",
             "equivalence": f"margin ±{margin:g}"}[row["hypothesis"]]
    shown = [c for c in components if c["verdict"] == verdict] or components
    parts = [f"{c['label']}: {_fmt(c['estimate'])}, {confidence} [{_fmt(c['ci_low'])}, {_fmt(c['ci_high'])}]"
             for c in shown[:3]]
    more = f" (and {len(shown) - 3} more)" if len(shown) > 3 else ""
    lead = {"reproduced": f"all {len(components)} comparison(s) show it", "contradicted": "the opposite is shown",
            "no effect": "an effect below the minimum is shown", "inconclusive": "not shown either way"}[verdict]
    return f"{lead} ({row['hypothesis']}, {words}): " + "; ".join(parts) + more


def headline_counts(rows: list) -> dict:
    """{paper: {verdict: count}} over decided headline rows, every verdict present."""
    counts = {}
    for row in rows:
        counts.setdefault(row["paper"], dict.fromkeys(VERDICTS, 0))[row["verdict"]] += 1
    return counts


def interval_text(row: dict) -> str:
    """'+0.012 [+0.004, +0.020]' for a decided row ('-' when it has no numbers)."""
    if row.get("estimate") is None or row.get("ci_low") is None:
        return "-"
    return f"{_fmt(row['estimate'])} [{_fmt(row['ci_low'])}, {_fmt(row['ci_high'])}]"
